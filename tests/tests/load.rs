//! Load and churn against the `echo_server` example on every runtime, and against the io_uring
//! loop of the benchmark (`echo-laputa-uring`, laputa-core driven directly), with the clients in a
//! process of their own (the descriptor limit is per process): `loadgen` of the benchmark
//! package, on raw TCP with its own handshake and frames, which checks every echo byte for byte.
//!
//! - 10,000 concurrent connections, all open at once, each echoing 10 messages of 1 to 300
//!   bytes (text and binary), then each closing with the close handshake: every message comes
//!   back intact and in order, every close is clean, the server holds a descriptor for every
//!   connection at once, and its resident memory per connection is printed and bounded.
//! - Churn for a few seconds (connect, echo, then the close handshake, a reset, a FIN without a
//!   close frame, a reset mid-frame or a reset mid-handshake, in turn): no error, and the
//!   server's open descriptors come back to their count before the churn.
//! - A peer that never reads its echoes, against the io_uring server (which applies its own
//!   backpressure): its writes block, the server's memory stays bounded, others are served.
//!
//! `scripts/soak.sh` runs the same churn for minutes. The tests run one at a time (they share
//! the machine's cores); nothing is asserted on time, and every wait has a watchdog.

use laputa_tests::{bench_bin, example_bin, free_port, open_fds, out_dir, rss_kib, ChildGuard};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Connections open at once in the load test.
const CONNECTIONS: u64 = 10_000;
/// Messages each connection sends (two in flight at a time).
const MESSAGES: u64 = 10;
/// Seconds of churn.
const CHURN_SECONDS: &str = "2";
/// Watchdog of every client run.
const WATCHDOG: Duration = Duration::from_secs(120);

/// One test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

struct Server {
    process: ChildGuard,
    addr: SocketAddr,
    dir: PathBuf,
}

/// Not a runtime of `echo_server`: the benchmark's `echo-laputa-uring`, laputa-core under an
/// io_uring loop of its own.
const IO_URING: &str = "io-uring";

/// Starts `echo_server --runtime RUNTIME` (or `echo-laputa-uring` for [`IO_URING`]) on a free
/// port and waits until it listens.
fn start_server(runtime: &str, test: &str) -> Server {
    let dir = out_dir(&format!("{test}-{runtime}"));
    let addr = free_port();
    let (mut cmd, name) = if runtime == IO_URING {
        (Command::new(bench_bin("echo-laputa-uring")), "echo-laputa-uring")
    } else {
        let mut cmd = Command::new(example_bin("echo_server"));
        cmd.args(["--runtime", runtime]);
        (cmd, "echo_server")
    };
    cmd.args(["--addr", &addr.to_string()]);
    let mut process = ChildGuard::spawn(&mut cmd, &dir.join(format!("{name}.log")));
    process.wait_for_output("listening", Duration::from_secs(30));
    Server { process, addr, dir }
}

/// Runs `loadgen ARGS` to completion (it exits non-zero on any error) and returns the
/// `key=value` pairs of its `result` line.
fn loadgen(server: &Server, args: &[&str]) -> BTreeMap<String, u64> {
    let mut cmd = Command::new(bench_bin("loadgen"));
    cmd.args(args).args(["--addr", &server.addr.to_string()]);
    let mut client = ChildGuard::spawn(&mut cmd, &server.dir.join(format!("loadgen-{}.log", args[0])));
    client.expect_success(WATCHDOG);
    let output = client.output();
    let line = output.lines().find(|l| l.starts_with("result ")).unwrap_or_else(|| panic!("no result:\n{output}"));
    line.split_whitespace()
        .skip(1)
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(key, value)| Some((key.to_owned(), value.parse::<f64>().ok()? as u64)))
        .collect()
}

fn get(result: &BTreeMap<String, u64>, key: &str) -> u64 {
    *result.get(key).unwrap_or_else(|| panic!("no {key} in {result:?}"))
}

/// 10,000 connections at once, each echoing; `max_kib` bounds the server's resident memory per
/// connection.
fn ten_thousand_connections(runtime: &str, max_kib: f64) {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let server = start_server(runtime, "load");
    let start = Instant::now();
    let (conns, messages) = (CONNECTIONS.to_string(), MESSAGES.to_string());
    let pid = server.process.id().to_string();
    let result = loadgen(&server, &["check", "--conns", &conns, "--messages", &messages, "--server-pid", &pid]);
    let took = start.elapsed();

    assert_eq!(get(&result, "errors"), 0, "{result:?}");
    assert_eq!(get(&result, "sent"), CONNECTIONS * MESSAGES, "{result:?}");
    assert_eq!(get(&result, "received"), CONNECTIONS * MESSAGES, "{result:?}");
    assert_eq!(get(&result, "clean_closes"), CONNECTIONS, "{result:?}");
    // All of them were open at the server at once.
    assert!(get(&result, "fds_open") >= get(&result, "fds_base") + CONNECTIONS, "{result:?}");

    let per_conn =
        |key: &str| (get(&result, key).saturating_sub(get(&result, "rss_kib_base"))) as f64 / CONNECTIONS as f64;
    let (idle, echoed) = (per_conn("rss_kib_open"), per_conn("rss_kib_echoed"));
    println!(
        "{runtime}: {CONNECTIONS} connections open at once, {} echoes checked, \
         server resident memory {:.0} KiB before, {:.1} KiB per connection open (idle), {:.1} KiB per \
         connection after echoing; {:.1} s",
        get(&result, "received"),
        get(&result, "rss_kib_base") as f64,
        idle,
        echoed,
        took.as_secs_f64(),
    );
    assert!(echoed <= max_kib, "{echoed:.1} KiB per connection (bound {max_kib}); {result:?}");
}

/// Churn for a few seconds; then the server's descriptors return to their count before it.
fn churn(runtime: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let server = start_server(runtime, "churn");
    let pid = server.process.id();
    let (fds_before, rss_before) = (open_fds(pid), rss_kib(pid));
    let result = loadgen(&server, &["churn", "--duration", CHURN_SECONDS, "--concurrency", "16"]);
    assert_eq!(get(&result, "errors"), 0, "{result:?}");
    for ending in ["clean", "reset", "fin", "reset_mid_frame", "reset_mid_handshake"] {
        assert!(get(&result, ending) > 0, "no connection ended with {ending}: {result:?}");
    }
    // Every connection has ended on the client's side; the server lets go of each one as soon
    // as it sees the end (the watchdog only bounds the wait).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut fds_after = open_fds(pid);
    while fds_after > fds_before {
        assert!(
            Instant::now() < deadline,
            "the server still holds {fds_after} descriptors, {fds_before} before the churn ({result:?}); \
             its output:\n{}",
            server.process.output()
        );
        thread::sleep(Duration::from_millis(50));
        fds_after = open_fds(pid);
    }
    println!(
        "{runtime}: churn of {} connections ({} echoes checked): descriptors {fds_before} \
         before, {fds_after} after; resident memory {rss_before} KiB before, {} KiB after",
        get(&result, "connections"),
        get(&result, "messages"),
        rss_kib(pid),
    );
}

/// Bound of the server's resident memory per connection on the async runtimes: one task, the
/// core's state and small buffers (reads go through a per-thread buffer).
const ASYNC_MAX_KIB: f64 = 32.0;
/// On the blocking runtime each connection is a thread, whose stack pages count too.
const BLOCKING_MAX_KIB: f64 = 128.0;

#[test]
fn ten_thousand_connections_on_tokio() {
    ten_thousand_connections("tokio", ASYNC_MAX_KIB);
}

#[test]
fn ten_thousand_connections_on_smol() {
    ten_thousand_connections("smol", ASYNC_MAX_KIB);
}

#[test]
fn ten_thousand_connections_on_async_std() {
    ten_thousand_connections("async-std", ASYNC_MAX_KIB);
}

#[test]
fn ten_thousand_connections_on_blocking_threads() {
    ten_thousand_connections("blocking", BLOCKING_MAX_KIB);
}

#[test]
fn ten_thousand_connections_on_io_uring() {
    ten_thousand_connections(IO_URING, ASYNC_MAX_KIB);
}

#[test]
fn churn_returns_descriptors_on_tokio() {
    churn("tokio");
}

#[test]
fn churn_returns_descriptors_on_smol() {
    churn("smol");
}

#[test]
fn churn_returns_descriptors_on_async_std() {
    churn("async-std");
}

#[test]
fn churn_returns_descriptors_on_blocking_threads() {
    churn("blocking");
}

#[test]
fn churn_returns_descriptors_on_io_uring() {
    churn(IO_URING);
}

/// A peer that sends without ever reading its echoes, to the io_uring server (which has no
/// adapter to stop reading for it): the server stops receiving once its output backs up, so the
/// peer's writes block, the server's memory stays bounded, and other connections are served.
#[test]
fn a_peer_that_never_reads_costs_the_io_uring_server_bounded_memory() {
    use std::io::{Read, Write};
    /// What the peer tries to send: far more than the socket buffers of both sides hold.
    const ATTEMPT: usize = 256 << 20;
    const FRAME: usize = 64 << 10;
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let server = start_server(IO_URING, "never-reads");
    let pid = server.process.id();
    let mut peer = std::net::TcpStream::connect(server.addr).expect("connect");
    peer.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("send the upgrade request");
    let mut response = Vec::new();
    let mut byte = [0u8];
    while !response.ends_with(b"\r\n\r\n") {
        peer.read_exact(&mut byte).expect("read the upgrade response");
        response.push(byte[0]);
    }
    assert!(response.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&response));
    let rss_before = rss_kib(pid);

    // Binary frames of 64 KiB with an all-zero mask (the payload goes as it is).
    let mut frame = vec![0x82, 0x80 | 127];
    frame.extend_from_slice(&(FRAME as u64).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.resize(frame.len() + FRAME, b'x');
    peer.set_write_timeout(Some(Duration::from_secs(2))).expect("write timeout");
    let mut sent = 0;
    while sent < ATTEMPT {
        match peer.write(&frame) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    let grown_kib = rss_kib(pid).saturating_sub(rss_before);
    println!(
        "io-uring: a peer that never reads got {} KiB in before its writes blocked; server grew {grown_kib} KiB",
        sent >> 10
    );
    assert!(
        sent < ATTEMPT,
        "the server took all {ATTEMPT} bytes of a peer that never reads: it never stopped receiving"
    );
    assert!(grown_kib < 32 << 10, "the server grew {grown_kib} KiB for a peer that never reads");

    // Meanwhile, other connections are served.
    let result = loadgen(&server, &["check", "--conns", "10", "--messages", "10"]);
    assert_eq!(get(&result, "errors"), 0, "{result:?}");
    assert_eq!(get(&result, "received"), 100, "{result:?}");
    drop(peer);
}
