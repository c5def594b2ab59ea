//! Autobahn TestSuite conformance (through kosoku) of the laputa server and client.
//!
//! Each case must be OK or INFORMATIONAL, for both `behavior` and `behaviorClose`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use laputa_tests::{
    assert_autobahn_passed, bench_bin, example_bin, free_port, kosoku_command, out_dir, ChildGuard, KosokuMode,
};

/// Every case group up to 10 (there is no 8.* and no 11.*): 301 cases.
const CORE_CASES: &[&str] = &["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"];
const CORE_CASE_COUNT: usize = 301;
/// The permessage-deflate groups, run on top of [`CORE_CASES`] when deflate is on: 216 cases.
const DEFLATE_CASES: &[&str] = &["12.*", "13.*"];
const DEFLATE_CASE_COUNT: usize = 216;

const START_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole kosoku run: about 10 s without deflate, a few minutes with it.
const RUN_TIMEOUT: Duration = Duration::from_secs(20 * 60);

fn cases(deflate: bool) -> Vec<&'static str> {
    let extra: &[&str] = if deflate { DEFLATE_CASES } else { &[] };
    CORE_CASES.iter().chain(extra).copied().collect()
}

/// How many cases [`cases`] selects: each must have passed.
fn case_count(deflate: bool) -> usize {
    CORE_CASE_COUNT + if deflate { DEFLATE_CASE_COUNT } else { 0 }
}

/// The arguments that pick the runtime and permessage-deflate of an example binary.
fn example_args(runtime: &str, deflate: bool) -> Vec<&str> {
    let mut args = vec!["--runtime", runtime];
    if deflate {
        args.push("--deflate");
    }
    args
}

/// The output directory (logs and kosoku's reports) of one run.
fn run_dir(side: &str, runtime: &str, deflate: bool) -> PathBuf {
    out_dir(&format!("autobahn-{side}-{runtime}{}", if deflate { "-deflate" } else { "" }))
}

/// kosoku (fuzzingclient) drives our `echo_server`.
fn server_conformance(runtime: &str, deflate: bool) {
    let bin = example_bin("echo_server");
    server_conformance_of(&bin, example_args(runtime, deflate), &run_dir("server", runtime, deflate), deflate);
}

/// kosoku (fuzzingclient) drives the echo server `bin`, started with `args` after `--addr`.
fn server_conformance_of(bin: &std::path::Path, args: Vec<&str>, dir: &std::path::Path, deflate: bool) {
    let addr = free_port();
    let name = bin.file_name().map_or("server".into(), |name| name.to_string_lossy());
    let mut server = ChildGuard::spawn(
        Command::new(bin).arg("--addr").arg(addr.to_string()).args(args),
        &dir.join(format!("{name}.log")),
    );
    // Every server here says "... listening on ..." once its listener is bound.
    server.wait_for_output("listening", START_TIMEOUT);
    let cases = cases(deflate);
    // kosoku exits 1 when a case fails; the report says which, so only completion matters here.
    ChildGuard::spawn(&mut kosoku_command(KosokuMode::FuzzingClient, addr, &cases, dir), &dir.join("kosoku.log"))
        .wait_timeout(RUN_TIMEOUT);
    assert_autobahn_passed(dir, &cases, case_count(deflate));
}

/// Our `autobahn_client` runs every case that kosoku (fuzzingserver) serves.
fn client_conformance(runtime: &str, deflate: bool) {
    let dir = run_dir("client", runtime, deflate);
    let addr = free_port();
    let cases = cases(deflate);
    let mut kosoku =
        ChildGuard::spawn(&mut kosoku_command(KosokuMode::FuzzingServer, addr, &cases, &dir), &dir.join("kosoku.log"));
    kosoku.wait_for_output("fuzzingserver listening", START_TIMEOUT);
    ChildGuard::spawn(
        Command::new(example_bin("autobahn_client"))
            .arg("--server")
            .arg(format!("ws://{addr}"))
            .args(["--agent", "laputa"])
            .args(example_args(runtime, deflate)),
        &dir.join("autobahn_client.log"),
    )
    .expect_success(RUN_TIMEOUT);
    // kosoku writes its report and exits once the client has sent updateReports.
    kosoku.wait_timeout(Duration::from_secs(30));
    assert_autobahn_passed(&dir, &cases, case_count(deflate));
}

#[test]
fn server_blocking() {
    server_conformance("blocking", false);
}

#[test]
fn client_blocking() {
    client_conformance("blocking", false);
}

#[test]
fn server_blocking_deflate() {
    server_conformance("blocking", true);
}

#[test]
fn client_blocking_deflate() {
    client_conformance("blocking", true);
}

// The async adapters, through the same example programs (`--runtime`).

#[test]
fn server_tokio() {
    server_conformance("tokio", false);
}

#[test]
fn client_tokio() {
    client_conformance("tokio", false);
}

#[test]
fn server_smol() {
    server_conformance("smol", false);
}

#[test]
fn client_smol() {
    client_conformance("smol", false);
}

#[test]
fn server_async_std() {
    server_conformance("async-std", false);
}

#[test]
fn client_async_std() {
    client_conformance("async-std", false);
}

#[test]
fn server_tokio_deflate() {
    server_conformance("tokio", true);
}

#[test]
fn client_tokio_deflate() {
    client_conformance("tokio", true);
}

#[test]
fn server_smol_deflate() {
    server_conformance("smol", true);
}

#[test]
fn client_smol_deflate() {
    client_conformance("smol", true);
}

/// The custom event loop of `event_loop_echo` (mio, laputa-core driven directly).
#[test]
fn server_event_loop() {
    server_conformance_of(&example_bin("event_loop_echo"), vec![], &out_dir("autobahn-server-event-loop"), false);
}

/// The io_uring loop of the benchmark's `echo-laputa-uring` (laputa-core under a
/// completion-based loop: multishot receives into a shared buffer ring, one send in flight).
#[test]
fn server_io_uring() {
    let bin = bench_bin("echo-laputa-uring");
    // Cases 9.3.* and 9.4.* send 4 MiB messages in fragments as small as 64 bytes.
    let args = vec!["--max-fragments", "1048576"];
    server_conformance_of(&bin, args, &out_dir("autobahn-server-io-uring"), false);
}
