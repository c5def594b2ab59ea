//! The example programs' flags (a contract: scripts and the conformance tests run them): `--help`
//! lists them and exits 0, an unknown or misspelled flag is a usage error (status 2) before the
//! program does anything, and `client` talks to a real server with what its flags ask for.

use laputa_tests::{free_port, out_dir, ChildGuard};
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The flags each program documents in its `--help`.
const PROGRAMS: [(&str, &str, &[&str]); 5] = [
    ("echo_server", env!("CARGO_BIN_EXE_echo_server"), &["--addr", "--runtime", "--deflate", "async-std"]),
    (
        "autobahn_client",
        env!("CARGO_BIN_EXE_autobahn_client"),
        &["--server", "--agent", "--runtime", "--deflate", "ws://127.0.0.1:9001"],
    ),
    ("client", env!("CARGO_BIN_EXE_client"), &["<URL>", "--runtime", "--deflate"]),
    ("event_loop_echo", env!("CARGO_BIN_EXE_event_loop_echo"), &["--addr", "--deflate", "127.0.0.1:9001"]),
    ("axum_echo", env!("CARGO_BIN_EXE_axum_echo"), &["--addr", "--deflate", "127.0.0.1:9001"]),
];

/// What a finished program left: its status, stdout and stderr.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `program` with `args`, writes `input` to its stdin and closes it (with `hold_stdin`,
/// keeps it open until the program exits), and waits at most `timeout` for it to exit.
fn run(program: &str, args: &[&str], input: &str, hold_stdin: bool, timeout: Duration) -> Finished {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut stdin = child.stdin.take();
    if let Some(pipe) = stdin.as_mut() {
        // A program that exits before reading its input closes the pipe; that is its business.
        let _ = pipe.write_all(input.as_bytes());
    }
    if !hold_stdin {
        drop(stdin.take());
    }
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for a child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
            panic!("{program} {args:?} still running after {timeout:?}; stdout:\n{stdout}\nstderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    Finished { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Runs `program` with `args` and no input, for at most 10 s.
fn run_args(program: &str, args: &[&str]) -> Finished {
    run(program, args, "", false, Duration::from_secs(10))
}

/// Asserts that `finished` is clap's usage error naming `text` (status 2, nothing on stdout).
fn assert_usage_error(finished: &Finished, text: &str) {
    assert_eq!(finished.status.code(), Some(2), "stdout: {}\nstderr: {}", finished.stdout, finished.stderr);
    assert!(finished.stderr.starts_with("error: "), "{}", finished.stderr);
    assert!(finished.stderr.contains(text), "no {text:?} in {}", finished.stderr);
    assert_eq!(finished.stdout, "");
}

#[test]
fn help_lists_the_flags_and_exits_0() {
    for (name, program, flags) in PROGRAMS {
        let finished = run_args(program, &["--help"]);
        assert!(finished.status.success(), "{name} --help: {}\n{}", finished.status, finished.stderr);
        assert!(finished.stdout.contains(&format!("Usage: {name}")), "{name}: {}", finished.stdout);
        for flag in flags.iter().chain(&["--help"]) {
            assert!(finished.stdout.contains(flag), "{name} --help does not mention {flag}:\n{}", finished.stdout);
        }
        assert_eq!(finished.stderr, "", "{name}");
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    for (name, program, _) in PROGRAMS {
        // Valid flags first: a server told to listen on a free port, so that one that ignored
        // the unknown flag would show it by printing its "listening" line instead of exiting;
        // clients told to connect where nothing listens.
        let addr = free_port().to_string();
        let valid = match name {
            "autobahn_client" => ["--server", "ws://127.0.0.1:1"],
            "client" => ["ws://127.0.0.1:1/", "--deflate"],
            _ => ["--addr", addr.as_str()],
        };
        let finished = run_args(program, &[valid[0], valid[1], "--no-such-flag"]);
        assert_usage_error(&finished, "'--no-such-flag'");
        assert!(!finished.stdout.contains("listening"), "{name}");
    }
}

#[test]
fn a_misspelled_flag_is_a_usage_error_with_a_suggestion() {
    let (_, echo_server, _) = PROGRAMS[0];
    let addr = free_port().to_string();
    let finished = run_args(echo_server, &["--adr", &addr]);
    assert_usage_error(&finished, "'--adr'");
    assert!(finished.stderr.contains("'--addr'"), "{}", finished.stderr);
    // A value the flag does not take is one too.
    assert_usage_error(&run_args(echo_server, &["--runtime", "glommio"]), "glommio");
    let (_, client, _) = PROGRAMS[2];
    assert_usage_error(&run_args(client, &[]), "<URL>");
}

#[test]
fn echo_server_keeps_its_flags() {
    // The contract the conformance and load tests rely on: `--addr`, `--runtime`, `--deflate`
    // in any order, the last `--addr` winning as before.
    let (_, echo_server, _) = PROGRAMS[0];
    let addr = free_port().to_string();
    let dir = out_dir("examples-flags-echo-server");
    let mut server = ChildGuard::spawn(
        Command::new(echo_server).args(["--deflate", "--addr", "127.0.0.1:1", "--runtime", "smol", "--addr", &addr]),
        &dir.join("echo_server.log"),
    );
    server.wait_for_output(&format!("echo_server listening on ws://{addr}"), Duration::from_secs(10));
}

/// Starts `echo_server` on a free port with `args`, and waits for its "listening" line.
fn start_echo_server(test: &str, args: &[&str]) -> (ChildGuard, String) {
    let (_, echo_server, _) = PROGRAMS[0];
    let addr = free_port().to_string();
    let mut server = ChildGuard::spawn(
        Command::new(echo_server).args(["--addr", &addr]).args(args),
        &out_dir(&format!("examples-flags-{test}")).join("echo_server.log"),
    );
    server.wait_for_output("listening", Duration::from_secs(10));
    (server, addr)
}

#[test]
fn client_echoes_stdin_on_every_runtime() {
    let (_server, addr) = start_echo_server("client-echo", &["--runtime", "tokio"]);
    let url = format!("ws://{addr}/chat");
    let (_, client, _) = PROGRAMS[2];
    let input = "Sheeta\nPazu\n\nDola\n";
    for runtime in ["blocking", "tokio", "smol", "async-std"] {
        for deflate in [false, true] {
            let mut args = vec![url.as_str(), "--runtime", runtime];
            args.extend(deflate.then_some("--deflate"));
            let finished = run(client, &args, input, false, Duration::from_secs(20));
            assert!(finished.status.success(), "{args:?}: {}\n{}", finished.status, finished.stderr);
            assert_eq!(finished.stdout, input, "{args:?}");
            assert_eq!(finished.stderr, "", "{args:?}");
        }
    }
}

#[test]
fn client_failures_are_one_line_and_exit_1() {
    let (_, client, _) = PROGRAMS[2];
    // Nothing listens on this port (it was free a moment ago).
    let url = format!("ws://{}/", free_port());
    for runtime in ["blocking", "tokio"] {
        let finished = run_args(client, &[&url, "--runtime", runtime]);
        assert_eq!(finished.status.code(), Some(1), "{runtime}: {}", finished.stderr);
        assert!(finished.stderr.starts_with("client: "), "{runtime}: {}", finished.stderr);
        assert_eq!(finished.stderr.lines().count(), 1, "{runtime}: {}", finished.stderr);
    }
}
