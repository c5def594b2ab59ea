//! The axum example answers a WebSocket upgrade (through laputa's hyper integration), echoes,
//! closes cleanly, and refuses what is not a valid upgrade with the core's HTTP error.

use laputa::{blocking, ClientRequest, Config, Message};
use laputa_tests::{free_port, out_dir, ChildGuard};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// Starts the example on a port that no other test of this process was given, and waits for
/// it to say it listens. Waiting for a probe connection to succeed instead made the test's
/// next connection fail with "connection refused" one run in five here, the server listening
/// all along (likely the probe's closed socket and the new one sharing a port on loopback,
/// where TIME_WAIT ports are reused).
fn start(test: &str) -> (ChildGuard, String) {
    let addr = free_port();
    let mut server = ChildGuard::spawn(
        Command::new(env!("CARGO_BIN_EXE_axum_echo")).args(["--addr", &addr.to_string()]),
        &out_dir(&format!("axum-echo-{test}")).join("axum_echo.log"),
    );
    server.wait_for_output("listening", Duration::from_secs(10));
    (server, addr.to_string())
}

#[test]
fn upgrade_echo_and_close() {
    let (_server, addr) = start("upgrade");
    let request = ClientRequest::new(&format!("ws://{addr}/chat")).unwrap().protocol("echo");
    let (mut ws, response) = blocking::connect_with(request, Config::default()).unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers()["sec-websocket-protocol"], "echo");
    ws.send(Message::from("Balse")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::from("Balse"));
    let big: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
    ws.send(Message::from(big.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::from(big));
    ws.close().unwrap();
}

#[test]
fn refusals() {
    let (_server, addr) = start("refusals");
    let error = blocking::connect(format!("ws://{addr}/forbidden")).unwrap_err();
    assert_eq!(error.http_status(), Some(http::StatusCode::FORBIDDEN));
    // A wrong version gets 426 with the version the server speaks.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        )
        .unwrap();
    let mut head = [0u8; 512];
    let n = stream.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 426"), "{head}");
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
}
