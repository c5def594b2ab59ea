//! Interoperability of the async adapters with Python `websockets` (the scripts and the venv of
//! the laputa-tests package: `tests/python/`, `.venv` made by `./scripts/test.sh`): its client
//! against our server, and our client against its echo server, on tokio and smol.
#![cfg(any(feature = "tokio", feature = "smol"))]

mod common;

use common::Harness;
use laputa::runtime::{self, TcpRuntime};
use laputa::{Accept, CloseCode, Config, Message};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MIB: usize = 1 << 20;

/// A child process, killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `python tests/python/NAME` in the workspace's venv.
fn python(script: &str) -> Command {
    let python = workspace().join(".venv/bin/python");
    assert!(python.exists(), "{python:?} is missing: run ./scripts/test.sh to create the venv");
    let mut command = Command::new(python);
    command.env("PYTHONDONTWRITEBYTECODE", "1").arg("-u").arg(workspace().join("tests/python").join(script));
    command
}

fn limits() -> Config {
    let mut config = Config::default();
    config.max_message_size = 16 * MIB;
    config
}

/// `client_check.py` (text and binary, small and 1 MiB, random content) against our echo server.
async fn python_client<R: TcpRuntime>() {
    let listener = R::bind("127.0.0.1:0").await.unwrap();
    let addr = R::local_addr(&listener).unwrap();
    let server = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        let mut ws = runtime::accept_with::<_, R, _>(stream, limits(), |_| Ok(Accept::new())).await.unwrap();
        let mut echoed = 0;
        loop {
            match ws.recv().await {
                Ok(message) => {
                    ws.send(message).await.unwrap();
                    echoed += 1;
                }
                Err(e) => return (echoed, e),
            }
        }
    });
    let output = python("client_check.py")
        .arg(format!("ws://{addr}/"))
        .args(["--compression", "off"])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run client_check.py");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "client_check.py failed:\n{text}");
    let (echoed, end) = server.await;
    assert_eq!(echoed, 6, "{text}");
    assert!(matches!(end, laputa::Error::Closed(ref closed) if closed.clean), "{end:?}");
}

/// Starts `echo_server.py` on a port the system chooses and waits for its `READY PORT` line:
/// no port that another process could take first, and no probe connection.
fn python_echo_server() -> (Guard, u16) {
    let mut child = python("echo_server.py").args(["--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Guard(child);
    // A thread reads the output (to its end, so the script never blocks on a full pipe) and
    // hands over the first line; a script that dies first closes the pipe.
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = line_tx.send(lines.next());
        lines.for_each(drop);
    });
    let line = match line_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(Ok(line))) => line,
        other => panic!("echo_server.py said no READY line: {other:?}"),
    };
    let port = line.strip_prefix("READY ").and_then(|port| port.parse().ok());
    (server, port.unwrap_or_else(|| panic!("echo_server.py said {line:?}, not READY PORT")))
}

/// Our client against `echo_server.py`.
async fn python_server<R: TcpRuntime>() {
    let (_server, port) = python_echo_server();
    let request = laputa::ClientRequest::new(&format!("ws://127.0.0.1:{port}/")).unwrap();
    let (mut ws, response) = runtime::connect_with::<R>(request, limits()).await.unwrap();
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for size in [0, 100, MIB] {
        let text: String = (0..size).map(|_| ['a', 'é', '€', '😀', ' '][(next() % 5) as usize]).collect();
        let binary: Vec<u8> = (0..size).map(|_| next() as u8).collect();
        for message in [Message::from(text), Message::from(binary)] {
            ws.send(message.clone()).await.unwrap();
            assert!(ws.recv().await.unwrap() == message, "echo of {size} units differs");
        }
    }
    ws.close_with(CloseCode::NORMAL, "done").await.unwrap();
    assert!(ws.closed().unwrap().clean);
}

macro_rules! on_runtime {
    ($feature:literal, $module:ident, $runtime:ty) => {
        #[cfg(feature = $feature)]
        mod $module {
            use super::*;

            #[test]
            fn python_client_against_our_server() {
                <$runtime as Harness>::block_on(python_client::<$runtime>());
            }

            #[test]
            fn our_client_against_python_server() {
                <$runtime as Harness>::block_on(python_server::<$runtime>());
            }
        }
    };
}

on_runtime!("tokio", tokio, laputa::tokio::Tokio);
on_runtime!("smol", smol, laputa::smol::Smol);
