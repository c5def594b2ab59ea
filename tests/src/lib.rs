//! Shared helpers of the laputa integration tests: the example binaries, child processes and
//! ports, the Python venv made by `./scripts/test.sh`, the Autobahn TestSuite (kosoku), and
//! headless Chromium ([`browser`]).

pub mod browser;

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The workspace root (the parent of the laputa-tests package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("laputa-tests lives in the workspace root").to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace root) or `target/`.
pub fn target_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
    workspace_root().join(dir)
}

/// Builds the release example binary `name` (once per test process) and returns its path.
///
/// Runs `cargo build --release -p laputa-examples --all-features --bin NAME` from the workspace
/// root; builds are serialized (cargo locks the target directory anyway).
pub fn example_bin(name: &str) -> PathBuf {
    release_bin(&["-p", "laputa-examples", "--all-features"], name)
}

/// Builds the release binary `name` of the benchmark package (such as `loadgen`, the raw-TCP
/// load generator) once per test process, and returns its path.
///
/// Runs `cargo build --release -p laputa-bench --bin NAME` from the workspace root.
pub fn bench_bin(name: &str) -> PathBuf {
    release_bin(&["-p", "laputa-bench"], name)
}

/// Builds the release binary `name` of the package selected by `package_args`, once per test
/// process, and returns its path.
fn release_bin(package_args: &[&str], name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let key = format!("{package_args:?} {name}");
    if !built.contains(&key) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--release"])
            .args(package_args)
            .args(["--bin", name])
            .current_dir(workspace_root())
            .status()
            .expect("cannot run cargo");
        assert!(status.success(), "cargo build of {name} ({package_args:?}) failed: {status}");
        built.insert(key);
    }
    target_dir().join("release").join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| panic!("process {pid}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS for process {pid}"))
}

/// Number of open file descriptors of process `pid` (entries of `/proc/PID/fd`).
pub fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).unwrap_or_else(|e| panic!("process {pid}: {e}")).count()
}

/// A fresh, empty directory `target/laputa-tests/NAME` for one test's logs and reports.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("laputa-tests").join(name);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("cannot clear {dir:?}: {e}"),
        _ => {}
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
    dir
}

/// A loopback address with a port that was free a moment ago, and that no other test of this
/// process was given: the kernel may hand a released port out again, and two tests starting
/// servers on one port at once would each reach the other's server.
pub fn free_port() -> SocketAddr {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("cannot bind an ephemeral loopback port");
        if given.insert(addr.port()) {
            return addr;
        }
    }
}

/// A child process that is killed when the guard is dropped (so a failing test leaves no server).
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    /// Spawns `cmd` with no stdin and its stdout and stderr written to the file `log`.
    pub fn spawn(cmd: &mut Command, log: &Path) -> Self {
        let out = File::create(log).unwrap_or_else(|e| panic!("cannot create {log:?}: {e}"));
        let err = out.try_clone().expect("cannot clone a file handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
        ChildGuard { child, log: log.to_path_buf() }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the child has written `text` to its output; panics after `timeout` or if
    /// the child exits first.
    pub fn wait_for_output(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.output().contains(text) {
            if let Some(status) = self.child.try_wait().expect("cannot wait for a child") {
                panic!("child exited with {status} before writing {text:?}; output:\n{}", self.output());
            }
            assert!(Instant::now() < deadline, "no {text:?} after {timeout:?}; output:\n{}", self.output());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the child to exit; panics (killing it) after `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot wait for a child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "child still running after {timeout:?}; its output is in {:?}",
                self.log
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the child to exit and panics, pointing at its log, unless it exited with 0.
    pub fn expect_success(&mut self, timeout: Duration) {
        let status = self.wait_timeout(timeout);
        assert!(status.success(), "child exited with {status}; output:\n{}", self.output());
    }

    /// What the child has written to stdout and stderr so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(cannot read {:?}: {e})", self.log))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The program `name` in the Python venv `.venv/bin` at the workspace root.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = workspace_root().join(".venv").join("bin").join(name);
    assert!(path.exists(), "{path:?} is missing: run ./scripts/test.sh to create the venv");
    path
}

/// A command running the script `tests/python/NAME` with the venv's Python, unbuffered and
/// writing no `__pycache__` into the source tree.
pub fn python_script(name: &str) -> Command {
    let mut cmd = Command::new(venv_bin("python"));
    cmd.env("PYTHONDONTWRITEBYTECODE", "1").arg("-u").arg(workspace_root().join("tests").join("python").join(name));
    cmd
}

/// Which side of the connection kosoku plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KosokuMode {
    /// kosoku connects to the server under test.
    FuzzingClient,
    /// kosoku listens; the client under test follows the Autobahn client protocol.
    FuzzingServer,
}

/// A kosoku command that runs the cases matching the `include` globs (such as `"9.*"`) against
/// (or, as a server, on) `addr`, and writes its reports to `outdir`.
pub fn kosoku_command(mode: KosokuMode, addr: SocketAddr, include: &[&str], outdir: &Path) -> Command {
    let mut cmd = Command::new(venv_bin("kosoku"));
    // Unbuffered, so that "fuzzingserver listening" reaches the log as soon as it is printed.
    cmd.env("PYTHONUNBUFFERED", "1").current_dir(outdir).arg("-o").arg(outdir).arg(addr.to_string());
    match mode {
        KosokuMode::FuzzingClient => cmd.args(["-m", "fuzzingclient", "-p", "2"]),
        KosokuMode::FuzzingServer => cmd.args(["-m", "fuzzingserver"]),
    };
    for glob in include {
        cmd.args(["-i", glob]);
    }
    cmd
}

/// The verdicts of one Autobahn case, as kosoku writes them in `index.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseVerdict {
    /// The case id, such as `7.9.1`.
    pub id: String,
    /// The agent (peer under test) that ran it.
    pub agent: String,
    /// The verdict on the messages: OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED
    /// (or `NO RESULT` when a selected case is absent from the report).
    pub behavior: String,
    /// The verdict on the closing handshake: OK, INFORMATIONAL, FAILED, FAILED BY CLIENT,
    /// WRONG CODE or UNCLEAN.
    pub behavior_close: String,
    /// The close code that the peer sent, if any.
    pub remote_close_code: Option<u64>,
}

impl CaseVerdict {
    /// Strict success: both verdicts OK or INFORMATIONAL (NON-STRICT is a failure here).
    pub fn passed(&self) -> bool {
        let good = |verdict: &str| matches!(verdict, "OK" | "INFORMATIONAL");
        good(&self.behavior) && good(&self.behavior_close)
    }
}

impl fmt::Display for CaseVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: behavior={}, behaviorClose={}, remoteCloseCode={:?} (agent {})",
            self.id, self.behavior, self.behavior_close, self.remote_close_code, self.agent
        )
    }
}

/// Reads every case verdict of `outdir/index.json` (all agents), in case order.
pub fn autobahn_verdicts(outdir: &Path) -> Vec<CaseVerdict> {
    let path = outdir.join("index.json");
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no Autobahn report {path:?} ({e}); see the logs in {outdir:?}"));
    let index: serde_json::Value = serde_json::from_str(&text).expect("index.json is not JSON");
    let text_of = |case: &serde_json::Value, key: &str| case[key].as_str().unwrap_or("?").to_owned();
    let mut verdicts: Vec<CaseVerdict> = index
        .as_object()
        .expect("index.json maps agents to cases")
        .iter()
        .flat_map(|(agent, cases)| {
            cases.as_object().expect("an agent maps case ids to verdicts").iter().map(move |(id, case)| CaseVerdict {
                id: id.clone(),
                agent: agent.clone(),
                behavior: text_of(case, "behavior"),
                behavior_close: text_of(case, "behaviorClose"),
                remote_close_code: case["remoteCloseCode"].as_u64(),
            })
        })
        .collect();
    verdicts.sort_by_key(|v| case_sort_key(&v.id));
    verdicts
}

/// The ids of the Autobahn cases that match the `include` globs, as kosoku selects them.
pub fn autobahn_case_ids(include: &[&str]) -> BTreeSet<String> {
    const LIST: &str = "import fnmatch, sys\nfrom kosoku.cases import CASES\n\
        print('\\n'.join(c for c in CASES if any(fnmatch.fnmatchcase(c, g) for g in sys.argv[1:])))";
    let out = Command::new(venv_bin("python"))
        .args(["-c", LIST])
        .args(include)
        .output()
        .expect("cannot run the venv's python");
    assert!(out.status.success(), "cannot list kosoku cases: {}", String::from_utf8_lossy(&out.stderr));
    let ids = String::from_utf8(out.stdout).expect("case ids are UTF-8");
    // No case prints an empty line, not an empty id.
    ids.lines().filter(|id| !id.is_empty()).map(str::to_owned).collect()
}

/// The cases of the report in `outdir` that did not strictly pass, plus (as `NO RESULT`) every
/// case matching `include` that the report lacks.
pub fn autobahn_failures(outdir: &Path, include: &[&str]) -> Vec<CaseVerdict> {
    failures_among(autobahn_verdicts(outdir), autobahn_case_ids(include))
}

/// The `verdicts` that did not strictly pass, plus (as `NO RESULT`) every case of `selected`
/// that they lack.
fn failures_among(verdicts: Vec<CaseVerdict>, selected: BTreeSet<String>) -> Vec<CaseVerdict> {
    let reported: BTreeSet<&str> = verdicts.iter().map(|v| v.id.as_str()).collect();
    let missing = selected.into_iter().filter(|id| !reported.contains(id.as_str())).map(|id| CaseVerdict {
        id,
        agent: "-".into(),
        behavior: "NO RESULT".into(),
        behavior_close: "NO RESULT".into(),
        remote_close_code: None,
    });
    let mut failures: Vec<CaseVerdict> = verdicts.iter().filter(|v| !v.passed()).cloned().chain(missing).collect();
    failures.sort_by_key(|v| case_sort_key(&v.id));
    failures
}

/// Panics, listing every failing case, unless all cases matching `include`, `expected` of them,
/// strictly passed in the report in `outdir`. The count is checked first: globs that select no
/// case (or fewer than meant) and a report that is empty or short cannot pass.
pub fn assert_autobahn_passed(outdir: &Path, include: &[&str], expected: usize) {
    let selected = autobahn_case_ids(include);
    assert_eq!(selected.len(), expected, "{include:?} selects {} Autobahn cases, not {expected}", selected.len());
    let failures = failures_among(autobahn_verdicts(outdir), selected);
    assert!(
        failures.is_empty(),
        "{} Autobahn cases did not pass (reports in {outdir:?}):\n{}",
        failures.len(),
        failures.iter().map(|v| format!("  {v}\n")).collect::<String>()
    );
}

/// Numeric order of case ids (1.2.10 after 1.2.9).
fn case_sort_key(id: &str) -> Vec<u32> {
    id.split('.').map(|part| part.parse().unwrap_or(u32::MAX)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report in `target/laputa-tests/NAME` giving `behavior` to each case of `ids`.
    fn report(name: &str, ids: &BTreeSet<String>, behavior: &str) -> PathBuf {
        let dir = out_dir(name);
        let cases: serde_json::Map<String, serde_json::Value> = ids
            .iter()
            .map(|id| {
                (id.clone(), serde_json::json!({"behavior": behavior, "behaviorClose": "OK", "remoteCloseCode": 1000}))
            })
            .collect();
        fs::write(dir.join("index.json"), serde_json::json!({ "laputa": cases }).to_string()).unwrap();
        dir
    }

    fn passes(dir: &Path, include: &[&str], expected: usize) -> bool {
        std::panic::catch_unwind(|| assert_autobahn_passed(dir, include, expected)).is_ok()
    }

    /// Only the selected cases, every one of them reported and passed, pass: not an empty
    /// report, a failed case, a missing one, nor globs that select other than the count.
    #[test]
    fn an_autobahn_report_passes_only_whole_and_as_large_as_expected() {
        let ids = autobahn_case_ids(&["1.1.*"]);
        assert_eq!(ids.len(), 8, "{ids:?}");
        assert_eq!(autobahn_case_ids(&["99.*"]), BTreeSet::new());
        let ok = report("autobahn-check-ok", &ids, "OK");
        assert!(passes(&ok, &["1.1.*"], 8));
        // The selection is not what the caller counted: a typo'd glob, or none at all.
        assert!(!passes(&ok, &["1.1.*"], 9));
        assert!(!passes(&ok, &["1.1.x*"], 8));
        assert!(!passes(&ok, &[], 8));
        // An empty report (with no case selected either), a case missing, a case failed.
        let empty = report("autobahn-check-empty", &BTreeSet::new(), "OK");
        assert!(!passes(&empty, &[], 8));
        assert!(!passes(&empty, &["1.1.*"], 8));
        let short: BTreeSet<String> = ids.iter().skip(1).cloned().collect();
        assert!(!passes(&report("autobahn-check-short", &short, "OK"), &["1.1.*"], 8));
        assert!(!passes(&report("autobahn-check-failed", &ids, "FAILED"), &["1.1.*"], 8));
    }
}
