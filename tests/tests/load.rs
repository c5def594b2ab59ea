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
//!
//! `scripts/soak.sh` runs the same churn for minutes. The tests run one at a time (they share
//! the machine's cores); nothing is asserted on time, and every wait has a watchdog.

use laputa_tests::{bench_bin, example_bin, free_port, open_fds, out_dir, rss_kib, wait_for_port, ChildGuard};
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
    let process = if runtime == IO_URING {
        let mut cmd = Command::new(bench_bin("echo-laputa-uring"));
        cmd.args(["--addr", &addr.to_string()]);
        let process = ChildGuard::spawn(&mut cmd, &dir.join("echo-laputa-uring.log"));
        wait_for_port(addr, Duration::from_secs(30));
        process
    } else {
        let mut cmd = Command::new(example_bin("echo_server"));
        cmd.args(["--addr", &addr.to_string(), "--runtime", runtime]);
        let mut process = ChildGuard::spawn(&mut cmd, &dir.join("echo_server.log"));
        process.wait_for_output("listening", Duration::from_secs(30));
        process
    };
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
