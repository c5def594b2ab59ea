//! The example programs' flags (a contract: scripts and the conformance tests run them): `--help`
//! lists them and exits 0, an unknown or misspelled flag is a usage error (status 2) before the
//! program does anything (for `services` too: a runtime it has not, `--auth` without `--user`),
//! and `client` talks to a real server with what its flags ask for.

mod support;

use laputa_tests::{free_port, out_dir, ChildGuard};
use std::process::Command;
use std::time::Duration;
use support::{assert_usage_error, run_args};

/// The flags each program documents in its `--help`.
const PROGRAMS: [(&str, &str, &[&str]); 7] = [
    (
        "echo_server",
        env!("CARGO_BIN_EXE_echo_server"),
        &["--addr", "--runtime", "--deflate", "--tls-cert", "--tls-key", "async-std"],
    ),
    (
        "autobahn_client",
        env!("CARGO_BIN_EXE_autobahn_client"),
        &["--server", "--agent", "--runtime", "--deflate", "ws://127.0.0.1:9001"],
    ),
    (
        "client",
        env!("CARGO_BIN_EXE_client"),
        &[
            "<URL>",
            "--origin",
            "--cookie",
            "--header",
            "--protocol",
            "--user",
            "--password",
            "--preauth",
            "--proxy",
            "--proxy-user",
            "--proxy-password",
            "--proxy-from-env",
            "--ca",
            "--insecure",
            "--follow-redirects",
            "--runtime",
            "--deflate",
        ],
    ),
    ("event_loop_echo", env!("CARGO_BIN_EXE_event_loop_echo"), &["--addr", "--deflate", "127.0.0.1:9001"]),
    ("axum_echo", env!("CARGO_BIN_EXE_axum_echo"), &["--addr", "--deflate", "127.0.0.1:9001"]),
    (
        "services",
        env!("CARGO_BIN_EXE_services"),
        &[
            "--addr",
            "--runtime",
            "--allow-origin",
            "--auth",
            "--user",
            "--tls-cert",
            "--tls-key",
            "127.0.0.1:4649",
            "async-std",
        ],
    ),
    (
        "chat",
        env!("CARGO_BIN_EXE_chat"),
        &[
            "--addr",
            "--runtime",
            "--tls-cert",
            "--tls-key",
            "--redis",
            "--node",
            "127.0.0.1:4649",
            "async-std",
            "blocking",
        ],
    ),
];

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

#[test]
fn echo_server_tls_flags_go_together_and_name_a_bad_file() {
    let (_, echo_server, _) = PROGRAMS[0];
    let addr = free_port().to_string();
    assert_usage_error(&run_args(echo_server, &["--addr", &addr, "--tls-cert", "chain.pem"]), "--tls-key");
    assert_usage_error(&run_args(echo_server, &["--addr", &addr, "--tls-key", "key.pem"]), "--tls-cert");
    // Both given, but a file that does not exist: a clear failure (status 1) before listening.
    let finished = run_args(echo_server, &["--addr", &addr, "--tls-cert", "/nonexistent/chain.pem", "--tls-key", "k"]);
    assert_eq!(finished.status.code(), Some(1), "{}", finished.stderr);
    assert!(finished.stderr.contains("/nonexistent/chain.pem"), "{}", finished.stderr);
    assert!(!finished.stdout.contains("listening"), "{}", finished.stdout);
}

#[test]
fn client_usage_errors() {
    let (_, client, _) = PROGRAMS[2];
    let url = "ws://127.0.0.1:1/";
    let cases: [(&[&str], &str); 10] = [
        (&["--user", "u"], "--password"),
        (&["--password", "p"], "--user"),
        (&["--preauth"], "--user"),
        (&["--proxy-user", "u", "--proxy-password", "p"], "--proxy"),
        (&["--proxy", "http://127.0.0.1:1", "--proxy-user", "u"], "--proxy-password"),
        (&["--proxy", "http://127.0.0.1:1", "--proxy-from-env"], "--proxy-from-env"),
        (&["--header", "X-Laputa=1"], "': '"),
        (&["--header", "Bad Name: 1"], "header name"),
        (&["--cookie", "session"], "'='"),
        (&["--insecure", "--ca", "ca.pem"], "--ca"),
    ];
    for (flags, named) in cases {
        let mut args = vec![url];
        args.extend(flags);
        let finished = run_args(client, &args);
        assert_usage_error(&finished, named);
    }
}

#[test]
fn services_usage_errors() {
    let (_, services, _) = PROGRAMS[5];
    let addr = free_port().to_string();
    let cases: [(&[&str], &str); 7] = [
        (&["--runtime", "blocking"], "blocking"),
        (&["--auth", "basic"], "--user"),
        (&["--user", "nobita:password"], "--auth"),
        (&["--auth", "ntlm", "--user", "nobita:password"], "ntlm"),
        (&["--auth", "digest", "--user", "nobita"], "':'"),
        (&["--tls-cert", "cert.pem"], "--tls-key"),
        (&["--tls-key", "key.pem"], "--tls-cert"),
    ];
    for (flags, named) in cases {
        let mut args = vec!["--addr", addr.as_str()];
        args.extend(flags);
        let finished = run_args(services, &args);
        assert_usage_error(&finished, named);
        assert!(!finished.stdout.contains("listening"), "{flags:?}");
    }
}

#[test]
fn chat_redis_flags() {
    let chat = PROGRAMS.iter().find(|(name, ..)| *name == "chat").expect("chat").1;
    let addr = free_port().to_string();
    let redis = "redis://127.0.0.1:1/";
    assert_usage_error(&run_args(chat, &["--addr", &addr, "--redis", redis, "--runtime", "smol"]), "--redis");
    assert_usage_error(&run_args(chat, &["--addr", &addr, "--node", "a"]), "--redis");
    // Not a Redis URL: a clear failure (status 1) naming it, before listening.
    let finished = run_args(chat, &["--addr", &addr, "--redis", "http://127.0.0.1:1/"]);
    assert_eq!(finished.status.code(), Some(1), "{}", finished.stderr);
    assert!(finished.stderr.contains("http://127.0.0.1:1/"), "{}", finished.stderr);
    assert!(!finished.stdout.contains("chat: open"), "{}", finished.stdout);
}
