//! Shared by the tests of the example programs: running one with some input and collecting what
//! it printed.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished program left: its status, stdout and stderr.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `program` with `args`, writes `input` to its stdin and closes it (with `hold_stdin`,
/// keeps it open until the program exits), and waits at most `timeout` for it to exit.
pub(crate) fn run(program: &str, args: &[&str], input: &str, hold_stdin: bool, timeout: Duration) -> Finished {
    run_command(Command::new(program).args(args), input, hold_stdin, timeout)
}

/// [`run`] for a prepared command (environment variables, say).
pub(crate) fn run_command(command: &mut Command, input: &str, hold_stdin: bool, timeout: Duration) -> Finished {
    let (program, args) =
        (command.get_program().to_owned(), command.get_args().map(|a| a.to_owned()).collect::<Vec<_>>());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program:?}: {e}"));
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
            panic!("{program:?} {args:?} still running after {timeout:?}; stdout:\n{stdout}\nstderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    Finished { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Runs `program` with `args` and no input, for at most 10 s.
pub(crate) fn run_args(program: &str, args: &[&str]) -> Finished {
    run(program, args, "", false, Duration::from_secs(10))
}

/// Asserts that `finished` is clap's usage error naming `text` (status 2, nothing on stdout).
pub(crate) fn assert_usage_error(finished: &Finished, text: &str) {
    assert_eq!(finished.status.code(), Some(2), "stdout: {}\nstderr: {}", finished.stdout, finished.stderr);
    assert!(finished.stderr.starts_with("error: "), "{}", finished.stderr);
    assert!(finished.stderr.contains(text), "no {text:?} in {}", finished.stderr);
    assert_eq!(finished.stdout, "");
}
