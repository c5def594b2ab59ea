//! Interoperability with Python `websockets`: its client against our echo server (over `ws://`,
//! and over `wss://` with a certificate made at test time, which Python's `ssl` module checks),
//! and our blocking client against its echo server (`tests/python/`), with text and binary
//! messages of random content, small and 1 MiB.
//!
//! `deflate` is `None` for no compression, or `Some(flags)` for permessage-deflate with the
//! parameters `flags` given as the Python scripts' options (`--server-no-context-takeover`,
//! `--client-no-context-takeover`, `--server-max-window-bits N`, `--client-max-window-bits N`),
//! and `agreed` the server's answer both sides must see, parameter for parameter (the client
//! offers what `flags` say, and laputa's offer is checked to carry them). Adding a combination
//! is one `#[test]` line.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use laputa::{CloseCode, Message};
use laputa_tests::{example_bin, free_port, out_dir, python_script, ChildGuard};

const START_TIMEOUT: Duration = Duration::from_secs(10);
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);
const MIB: usize = 1 << 20;

/// The Python scripts' options for `deflate`.
fn python_deflate_args<'a>(deflate: Option<&[&'a str]>) -> Vec<&'a str> {
    match deflate {
        None => vec!["--compression", "off"],
        Some(flags) => [&["--compression", "on"], flags].concat(),
    }
}

/// A short name of a configuration, for output directories.
fn config_name(deflate: Option<&[&str]>) -> String {
    match deflate {
        None => "plain".into(),
        Some(flags) => ["deflate"].iter().chain(flags).map(|f| f.trim_start_matches('-')).collect::<Vec<_>>().join("-"),
    }
}

/// The parameters of the first extension in a `Sec-WebSocket-Extensions` value, its name among
/// them: `permessage-deflate; server_max_window_bits=9` gives `permessage-deflate` and
/// `server_max_window_bits=9`.
fn parameters(value: &str) -> BTreeSet<String> {
    let first = value.split(',').next().unwrap_or_default();
    first.split(';').map(|p| p.trim().replace(' ', "").to_ascii_lowercase()).filter(|p| !p.is_empty()).collect()
}

/// The parameters the Python scripts' `flags` stand for: `--server-max-window-bits 9` is
/// `server_max_window_bits=9`.
fn flag_parameters(flags: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let name = flag.trim_start_matches('-').replace('-', "_");
        out.insert(if name.ends_with("bits") { format!("{name}={}", flags.next().unwrap()) } else { name });
    }
    out
}

/// `tests/python/client_check.py` against our `echo_server`; the Python client checks that our
/// answer is `agreed`.
fn python_client_vs_laputa_server(runtime: &str, deflate: Option<&[&str]>, agreed: &str) {
    let dir = out_dir(&format!("interop-python-client-{runtime}-{}", config_name(deflate)));
    let addr = free_port();
    let mut server = Command::new(example_bin("echo_server"));
    server.arg("--addr").arg(addr.to_string()).args(["--runtime", runtime]);
    if deflate.is_some() {
        // Our server accepts what the Python client offers; the flags shape that offer.
        server.arg("--deflate");
    }
    let mut server = ChildGuard::spawn(&mut server, &dir.join("echo_server.log"));
    server.wait_for_output("listening", START_TIMEOUT);
    let mut client = python_script("client_check.py");
    client.arg(format!("ws://{addr}/")).args(python_deflate_args(deflate));
    if deflate.is_some() {
        client.args(["--expect-agreed", agreed]);
    }
    ChildGuard::spawn(&mut client, &dir.join("client_check.log")).expect_success(CHECK_TIMEOUT);
}

/// `tests/python/client_check.py` against our `echo_server --tls-cert --tls-key` over `wss://`:
/// a CA and a certificate for localhost made at test time (rcgen); Python's `ssl` module
/// (OpenSSL) trusts only that CA and checks the name. Both sides see TLS 1.3 and ALPN
/// `http/1.1`.
fn python_client_vs_laputa_wss_server(runtime: &str) {
    let dir = out_dir(&format!("interop-python-client-wss-{runtime}"));
    let (ca_pem, chain_pem, key_pem) = localhost_certificate();
    let (ca, chain, key) = (dir.join("ca.pem"), dir.join("chain.pem"), dir.join("key.pem"));
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&chain, chain_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let addr = free_port();
    let mut server = Command::new(example_bin("echo_server"));
    server.arg("--addr").arg(addr.to_string()).args(["--runtime", runtime]);
    server.arg("--tls-cert").arg(&chain).arg("--tls-key").arg(&key);
    let mut server = ChildGuard::spawn(&mut server, &dir.join("echo_server.log"));
    server.wait_for_output(&format!("listening on wss://{addr}"), START_TIMEOUT);
    let mut client = python_script("client_check.py");
    client.arg(format!("wss://localhost:{}/", addr.port())).arg("--ca").arg(&ca).args(python_deflate_args(None));
    let mut client = ChildGuard::spawn(&mut client, &dir.join("client_check.log"));
    client.expect_success(CHECK_TIMEOUT);
    assert!(client.output().contains("transport: TLSv1.3 ALPN http/1.1"), "{}", client.output());
}

/// A CA, and a certificate for `localhost` it issued: PEM of the CA's certificate, of the
/// certificate, and of its key.
fn localhost_certificate() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "laputa interop CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Our blocking client against `tests/python/echo_server.py`: its answer is `agreed`, and our
/// offer, as the server saw it, carries every parameter `deflate` asks for.
fn laputa_client_vs_python_server(deflate: Option<&[&str]>, agreed: &str) {
    let dir = out_dir(&format!("interop-laputa-client-{}", config_name(deflate)));
    let addr = free_port();
    let mut server = ChildGuard::spawn(
        python_script("echo_server.py").args(["--port", &addr.port().to_string()]).args(python_deflate_args(deflate)),
        &dir.join("echo_server.log"),
    );
    server.wait_for_output("READY", START_TIMEOUT);

    let request = laputa::ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let mut config = laputa::Config::default();
    config.max_message_size = 16 * MIB;
    config.deflate = deflate.map(deflate_config);
    let (mut ws, response) = laputa::blocking::connect_with(request, config)
        .unwrap_or_else(|e| panic!("connect to the Python echo server: {e:?}"));
    let extensions = response.headers().get("sec-websocket-extensions").map(|v| v.to_str().unwrap());
    assert_eq!(parameters(extensions.unwrap_or_default()), parameters(agreed), "agreed: {extensions:?}");
    let mut rng = XorShift::seeded();
    for size in [0, 100, MIB] {
        for text in [true, false] {
            let message: Message = if text { rng.text(size).into() } else { rng.bytes(size).into() };
            let sent = message.payload().to_vec();
            ws.send(message).unwrap_or_else(|e| panic!("send {size} bytes: {e:?}"));
            let echo = ws.read().unwrap_or_else(|e| panic!("read the echo of {size} bytes: {e:?}"));
            assert_eq!(matches!(echo, Message::Text(_)), text, "echo of {size} bytes changed kind");
            assert!(echo.payload() == sent, "echo of {size} bytes (text: {text}) differs");
        }
    }
    // The server printed the offer before it echoed anything.
    let output = server.output();
    let offer = output.lines().find_map(|line| line.strip_prefix("OFFER")).expect("echo_server.py printed the offer");
    let missing: Vec<_> =
        flag_parameters(deflate.unwrap_or_default()).difference(&parameters(offer)).cloned().collect();
    assert!(missing.is_empty(), "our offer {offer:?} lacks {missing:?}");
    assert_eq!(offer.trim().is_empty(), deflate.is_none(), "our offer {offer:?}");
    ws.close_with(CloseCode::NORMAL, "done").unwrap_or_else(|e| panic!("close: {e:?}"));
}

/// Our client's permessage-deflate settings asking for what the Python scripts' `flags` say.
fn deflate_config(flags: &[&str]) -> laputa::DeflateConfig {
    let mut config = laputa::DeflateConfig::default();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let mut bits = || flags.next().and_then(|n| n.parse().ok());
        match *flag {
            "--server-no-context-takeover" => config.server_no_context_takeover = true,
            "--client-no-context-takeover" => config.client_no_context_takeover = true,
            "--server-max-window-bits" => config.server_max_window_bits = bits(),
            "--client-max-window-bits" => config.client_max_window_bits = bits(),
            other => panic!("unknown deflate flag {other}"),
        }
    }
    config
}

/// A small pseudo-random generator (xorshift64*), so tests need no extra crate.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        XorShift(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Random text of about `len` bytes, mostly ASCII with some multi-byte characters.
    fn text(&mut self, len: usize) -> String {
        const CHARS: &[char] = &['a', 'Z', '0', ' ', '~', 'é', 'ß', '€', '😀'];
        let mut text = String::with_capacity(len + 4);
        while text.len() < len {
            text.push(CHARS[(self.next() % CHARS.len() as u64) as usize]);
        }
        text
    }
}

#[test]
fn python_client_blocking_server() {
    python_client_vs_laputa_server("blocking", None, "");
}

#[test]
fn blocking_client_python_server() {
    laputa_client_vs_python_server(None, "");
}

#[test]
fn python_client_tokio_server() {
    python_client_vs_laputa_server("tokio", None, "");
}

#[test]
fn python_client_smol_server() {
    python_client_vs_laputa_server("smol", None, "");
}

#[test]
fn python_client_blocking_wss_server() {
    python_client_vs_laputa_wss_server("blocking");
}

#[test]
fn python_client_tokio_wss_server() {
    python_client_vs_laputa_wss_server("tokio");
}

#[test]
fn python_client_smol_wss_server() {
    python_client_vs_laputa_wss_server("smol");
}

#[test]
fn python_client_async_std_wss_server() {
    python_client_vs_laputa_wss_server("async-std");
}

/// The permessage-deflate parameter combinations of both directions: each no-context-takeover
/// flag, and window bits 9, 12 and 15 on each side; each with the answer both servers give.
macro_rules! deflate_interop {
    ($($name:ident: $flags:expr => $agreed:expr;)*) => {
        mod deflate {
            use super::*;
            $(
                mod $name {
                    use super::*;
                    #[test]
                    fn python_client_blocking_server() {
                        python_client_vs_laputa_server("blocking", Some($flags), $agreed);
                    }
                    #[test]
                    fn blocking_client_python_server() {
                        laputa_client_vs_python_server(Some($flags), $agreed);
                    }
                }
            )*
        }
    };
}

deflate_interop! {
    defaults: &[] => "permessage-deflate";
    server_no_context_takeover: &["--server-no-context-takeover"] => "permessage-deflate; server_no_context_takeover";
    client_no_context_takeover: &["--client-no-context-takeover"] => "permessage-deflate; client_no_context_takeover";
    server_window_9: &["--server-max-window-bits", "9"] => "permessage-deflate; server_max_window_bits=9";
    server_window_12: &["--server-max-window-bits", "12"] => "permessage-deflate; server_max_window_bits=12";
    server_window_15: &["--server-max-window-bits", "15"] => "permessage-deflate; server_max_window_bits=15";
    client_window_9: &["--client-max-window-bits", "9"] => "permessage-deflate; client_max_window_bits=9";
    client_window_12: &["--client-max-window-bits", "12"] => "permessage-deflate; client_max_window_bits=12";
    client_window_15: &["--client-max-window-bits", "15"] => "permessage-deflate; client_max_window_bits=15";
}
