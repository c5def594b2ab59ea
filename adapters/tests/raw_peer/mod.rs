//! The raw, misbehaving peer of the hostile tests (`hostile_blocking.rs`, `hostile_async.rs`):
//! a plain `std::net::TcpStream` that writes hand-made frames and reads with a watchdog.
#![allow(dead_code)]

use laputa::{CloseCode, Closed, Config};
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Bounds every blocking read of a raw peer and every wait of a test body.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(10);

pub(crate) const REQUEST: &[u8] =
    b"GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

pub(crate) const DEFLATE_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

/// The masking key of RFC 6455 section 5.7.
pub(crate) const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

pub(crate) fn config() -> Config {
    let mut config = Config::default();
    config.close_timeout = Duration::from_millis(200);
    config.handshake_timeout = Duration::from_millis(300);
    config
}

/// A masked frame from the peer (first byte `b0`: FIN, RSV and opcode).
pub(crate) fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
        }
    }
    out.extend_from_slice(&KEY);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    out
}

/// Sends the upgrade `request` and reads the 101 response head.
pub(crate) fn upgrade(peer: &mut TcpStream, request: &[u8]) -> String {
    peer.write_all(request).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        peer.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    head
}

/// Everything the peer reads until the server closes the TCP connection (or resets it).
pub(crate) fn read_to_eof(peer: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match peer.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("the server did not close the connection within {WATCHDOG:?}")
        }
        Err(e) => Err(e),
    }
}

/// Resets the connection (SO_LINGER 0, then close).
pub(crate) fn reset(peer: TcpStream) {
    socket2::SockRef::from(&peer).set_linger(Some(Duration::ZERO)).unwrap();
    drop(peer);
}

/// How a connection that ended without a close handshake is reported: 1006, unclean.
pub(crate) fn abnormal() -> Closed {
    Closed::new(CloseCode::ABNORMAL, "", false)
}
