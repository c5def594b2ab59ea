//! The runner: starts each echo server pinned to one core and the load generator pinned to the
//! other, alternates the servers within each cell (A B C A B C ...) so that the machine's drift
//! hits all alike, and prints tables of medians and of ratios to the best peer.
//!
//! ```text
//! bench-run echo      [--servers a,b,..] [--conns 1,10,100,500] [--sizes 20,1024,16384,65536,1048576]
//!                     [--modes closed,pipelined] [--window 16] [--reps 3] [--warmup 1] [--duration 3]
//!                     [--text] [--count-allocs] [--out FILE]
//! bench-run memory    [--servers ..] [--idle 10000] [--reps 1] [--broadcast] [--out FILE]
//! bench-run handshake [--servers ..] [--concurrency 32] [--reps 3] [--duration 3] [--out FILE]
//! bench-run broadcast [--servers laputa,tungstenite] [--subs 1000,10000] [--sizes 1024] [--windows 8]
//!                     [--reps 3] [--warmup 1] [--duration 3] [--count-allocs] [--out FILE]
//! bench-run http      [--servers laputa,axum] [--conns 10,100] [--reps 3] [--warmup 1] [--duration 4]
//!                     [--root DIR]          (plain HTTP under wrk, issue 20; http_bench.rs)
//! bench-run cluster   [--subs 1000] [--size 1024] [--rates 20,100] [--windows 128] [--reps 3]
//!                     [--warmup 1] [--duration 5]  (cross-node broadcast over Redis, issue 21; cluster_bench.rs)
//! bench-run table     --from FILE          (re-prints the tables of a raw results file)
//! common: [--server-cpu 0] [--client-cpu 1] [--bin DIR] (default: this program's directory)
//!         [--deflate] [--tls]
//! ```
//!
//! `--deflate` runs every server with permessage-deflate (`echo-NAME --deflate`) and the load
//! generator with `--deflate` (compressed JSON-like text messages); the default servers are then
//! those that support it. Its results are tabled apart from the uncompressed ones.
//!
//! `broadcast` runs the `broadcast-NAME` servers (`NAME-per-session` is `broadcast-NAME
//! --per-session`) under `loadgen broadcast`: N subscribers and a publisher, the publisher
//! keeping W messages not yet delivered to every subscriber; with `--deflate` the subscribers
//! ask for permessage-deflate without server context takeover and the default servers are
//! `laputa,laputa-per-session,yawc`. `memory --broadcast` measures idle sessions of the
//! `broadcast-NAME` servers (subscribers on `/sub`) instead of the echo servers.
//!
//! `--tls` (`echo`, `memory`, `handshake`; the wss echo column of issue 19) runs the wss servers,
//! `laputa-tls` and `tungstenite-tls` by default (any server named `NAME-tls`, `echo-NAME-tls`;
//! a `--servers` list of such names alone turns it on): before the first server it makes a CA
//! and a certificate for `localhost` with rcgen in a temporary directory, starts every server
//! with `--tls-cert FILE --tls-key FILE` and the load generator with `--tls CA_FILE`, and tables
//! the results apart (`tls=1` in the raw lines).
//!
//! Every measurement appends one raw line to `--out` (default `bench-results.txt`): the runner's
//! keys (`kind`, `server`, `mode`) followed by the load generator's `result` line.

use laputa_bench::{fail, rss_kib, threads, write_tls_files, Args, TlsFiles};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `bench-run http`: plain HTTP under wrk (issue 20), in a file of its own.
#[path = "../http_bench.rs"]
mod http_bench;

/// `bench-run cluster`: the cross-node broadcast over Redis (issue 21), in a file of its own.
#[path = "../cluster_bench.rs"]
mod cluster_bench;

/// Servers in the default order; names starting with `laputa` are ours, the rest are peers.
const SERVERS: &str = "laputa,laputa-smol,laputa-async-std,laputa-core,tungstenite,fastwebsockets,tokio-websockets";
/// The default servers of `--deflate`: those that support permessage-deflate.
const DEFLATE_SERVERS: &str = "laputa,laputa-smol,laputa-async-std,laputa-core,yawc";
/// The default servers of `broadcast`, and of `broadcast --deflate`: laputa's `Sessions::broadcast`
/// against the idiom of each peer (`tokio::sync::broadcast`, one task per connection), and with
/// permessage-deflate laputa compressing per session (`Session::send` to each) as a reference.
const BROADCAST_SERVERS: &str = "laputa,tungstenite";
const BROADCAST_DEFLATE_SERVERS: &str = "laputa,laputa-per-session,yawc";
/// The default servers of `--tls`: laputa::tokio over `laputa::tls::TlsAcceptor` against
/// tokio-tungstenite over tokio-rustls.
const TLS_SERVERS: &str = "laputa-tls,tungstenite-tls";

fn main() {
    let args = Args::parse(&["text", "count-allocs", "deflate", "broadcast", "tls"]);
    let runner = Runner::new(&args);
    match args.positional.first().map(String::as_str).unwrap_or("echo") {
        "echo" => runner.echo(&args),
        "memory" => runner.memory(&args),
        "handshake" => runner.handshake(&args),
        "broadcast" => runner.broadcast(&args),
        "http" => runner.http(&args),
        "cluster" => runner.cluster(&args),
        "table" => {
            let from = args.value("from").unwrap_or_else(|| fail("table needs --from FILE"));
            let text = std::fs::read_to_string(from).unwrap_or_else(|e| fail(format!("{from}: {e}")));
            print!("{}", tables(&text.lines().filter_map(Record::parse).collect::<Vec<_>>()));
        }
        other => fail(format!("unknown command {other}: echo, memory, handshake, broadcast, http, cluster or table")),
    }
}

struct Runner {
    bin: PathBuf,
    servers: Vec<String>,
    server_cpu: String,
    client_cpu: String,
    out: String,
    /// Servers and load generator with permessage-deflate.
    deflate: bool,
    /// `--tls`: the certificate files of every wss server of the run, and the directory to
    /// remove at the end.
    tls: Option<(TlsFiles, TempDir)>,
    port: std::cell::Cell<u16>,
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running echo server.
struct Server {
    child: Child,
    addr: String,
    stats: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Runner {
    fn new(args: &Args) -> Self {
        let bin = match args.value("bin") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
                .unwrap_or_else(|| fail("cannot find the binaries' directory")),
        };
        let deflate = args.switch("deflate");
        // A list of wss servers alone means `--tls`.
        let tls = args.switch("tls")
            || args.value("servers").is_some_and(|list| list.split(',').all(|name| name.ends_with("-tls")));
        let default_servers = match (tls, deflate) {
            (true, true) => fail("--tls and --deflate together are not measured"),
            (true, false) => TLS_SERVERS,
            (false, true) => DEFLATE_SERVERS,
            (false, false) => SERVERS,
        };
        let servers: Vec<String> =
            args.value("servers").unwrap_or(default_servers).split(',').map(str::to_owned).collect();
        if let Some(name) = servers.iter().find(|name| name.ends_with("-tls") != tls) {
            fail(format!("{name}: a wss server (NAME-tls) runs with --tls, and --tls runs only those"));
        }
        let tls = tls.then(|| {
            let dir = std::env::temp_dir().join(format!("laputa-bench-tls-{}", std::process::id()));
            let files = write_tls_files(&dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
            (files, TempDir(dir))
        });
        Self {
            bin,
            servers,
            server_cpu: args.value("server-cpu").unwrap_or("0").to_owned(),
            client_cpu: args.value("client-cpu").unwrap_or("1").to_owned(),
            out: args.value("out").unwrap_or("bench-results.txt").to_owned(),
            deflate,
            tls,
            port: std::cell::Cell::new(9200),
        }
    }

    fn next_port(&self) -> u16 {
        let port = self.port.get();
        self.port.set(if port >= 9600 { 9200 } else { port + 2 });
        port
    }

    /// Starts `echo-<name>` on the server core and waits until it accepts connections.
    fn start(&self, name: &str, count_allocs: bool) -> Server {
        self.start_program(&format!("echo-{name}"), &[], count_allocs)
    }

    /// Starts the broadcast server `name` (`broadcast-NAME`, or `broadcast-BASE --per-session`
    /// for `BASE-per-session`).
    fn start_broadcast(&self, name: &str, count_allocs: bool) -> Server {
        match name.strip_suffix("-per-session") {
            Some(base) => self.start_program(&format!("broadcast-{base}"), &["--per-session"], count_allocs),
            None => self.start_program(&format!("broadcast-{name}"), &[], count_allocs),
        }
    }

    /// Starts `program` with `extra` arguments on the server core and waits until it accepts
    /// connections.
    fn start_program(&self, program: &str, extra: &[&str], count_allocs: bool) -> Server {
        let name = program;
        let port = self.next_port();
        let addr = format!("127.0.0.1:{port}");
        let stats = count_allocs.then(|| format!("127.0.0.1:{}", port + 1));
        let mut command = Command::new("taskset");
        command.arg("-c").arg(&self.server_cpu).arg(self.bin.join(program)).args(extra).arg("--addr").arg(&addr);
        if let Some(stats) = &stats {
            command.arg("--count-allocs").arg(stats);
        }
        if self.deflate {
            command.arg("--deflate");
        }
        if let Some((files, _)) = &self.tls {
            command.arg("--tls-cert").arg(&files.chain).arg("--tls-key").arg(&files.key);
        }
        let child = command.stdin(Stdio::null()).spawn().unwrap_or_else(|e| fail(format!("{name}: {e}")));
        let server = Server { child, addr, stats };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&server.addr).is_err() {
            if Instant::now() > deadline {
                fail(format!("{name} did not start listening on {}", server.addr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the probe connection's thread or task end before anything is measured.
        std::thread::sleep(Duration::from_millis(200));
        server
    }

    fn loadgen(&self) -> Command {
        let mut command = Command::new("taskset");
        command.arg("-c").arg(&self.client_cpu).arg(self.bin.join("loadgen"));
        if self.deflate {
            command.arg("--deflate");
        }
        if let Some((files, _)) = &self.tls {
            command.arg("--tls").arg(&files.ca);
        }
        command
    }

    /// ` deflate=1` for the raw lines of a deflate run (the load generator's `run` result says
    /// so itself).
    fn deflate_key(&self) -> &'static str {
        match (self.deflate, self.tls.is_some()) {
            (true, _) => " deflate=1",
            (false, true) => " tls=1",
            (false, false) => "",
        }
    }

    fn record(&self, line: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.out)
            .unwrap_or_else(|e| fail(format!("{}: {e}", self.out)));
        writeln!(file, "{line}").unwrap_or_else(|e| fail(e));
    }

    /// Runs the load generator to completion and returns its `result` line.
    fn run_loadgen(&self, mut command: Command) -> String {
        let output = command.output().unwrap_or_else(|e| fail(format!("loadgen: {e}")));
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.lines().find(|l| l.starts_with("result ")) {
            Some(line) => line["result ".len()..].to_owned(),
            None => format!("error={:?}", String::from_utf8_lossy(&output.stderr).trim()),
        }
    }

    fn echo(&self, args: &Args) {
        let list = |name: &str, default: &str| -> Vec<usize> {
            args.value(name)
                .unwrap_or(default)
                .split(',')
                .map(|v| v.parse().unwrap_or_else(|_| fail(format!("bad --{name}: {v}"))))
                .collect()
        };
        let conns = list("conns", "1,10,100,500");
        let sizes = list("sizes", "20,1024,16384,65536,1048576");
        let modes: Vec<String> =
            args.value("modes").unwrap_or("closed,pipelined").split(',').map(str::to_owned).collect();
        let window: usize = args.get("window", 16);
        let reps: usize = args.get("reps", 3);
        let warmup: f64 = args.get("warmup", 1.0);
        let duration: f64 = args.get("duration", 3.0);
        let count_allocs = args.switch("count-allocs");
        let mut records = Vec::new();
        let started = Instant::now();
        for mode in &modes {
            for &size in &sizes {
                // A pipelined window keeps at most 1 MiB in flight per connection; where that
                // leaves one message, pipelined is closed loop and is skipped.
                let w = match mode.as_str() {
                    "closed" => 1,
                    "pipelined" => window.min(((1 << 20) / size).max(1)),
                    other => fail(format!("unknown mode {other}")),
                };
                if mode == "pipelined" && w == 1 {
                    continue;
                }
                for &n in &conns {
                    for rep in 0..reps {
                        for name in &self.servers {
                            let server = self.start(name, count_allocs);
                            let mut command = self.loadgen();
                            command.args(["run", "--addr", &server.addr]);
                            command.args(["--conns", &n.to_string(), "--size", &size.to_string()]);
                            command.args(["--window", &w.to_string()]);
                            command.args(["--warmup", &warmup.to_string(), "--duration", &duration.to_string()]);
                            command.args(["--server-pid", &server.child.id().to_string()]);
                            if let Some(stats) = &server.stats {
                                command.args(["--alloc-stats", stats]);
                            }
                            if args.switch("text") {
                                command.arg("--text");
                            }
                            let result = self.run_loadgen(command);
                            drop(server);
                            // The load generator's result says `tls=1` itself; its error does not.
                            let tls = if self.tls.is_some() && !result.contains("tls=1") { " tls=1" } else { "" };
                            let line = format!(
                                "kind=echo server={name} mode={mode} rep={rep} {result}{tls} load1={}",
                                load1()
                            );
                            eprintln!("[{:>5.0}s] {line}", started.elapsed().as_secs_f64());
                            self.record(&line);
                            records.extend(Record::parse(&line));
                        }
                    }
                }
            }
        }
        print!("{}", tables(&records));
    }

    fn memory(&self, args: &Args) {
        let idle: usize = args.get("idle", 10_000);
        let reps: usize = args.get("reps", 1);
        // Idle sessions of the broadcast servers (subscribers on /sub) instead of echo connections.
        let broadcast = args.switch("broadcast");
        if broadcast && self.tls.is_some() {
            fail("the broadcast servers have no wss form");
        }
        let servers = if broadcast { self.servers_or(args, BROADCAST_SERVERS) } else { self.servers.clone() };
        let (broadcast_key, path) = if broadcast { (" broadcast=1", "/sub") } else { ("", "/") };
        let mut records = Vec::new();
        for rep in 0..reps {
            for name in &servers {
                let server = if broadcast { self.start_broadcast(name, false) } else { self.start(name, false) };
                let pid = server.child.id();
                let before = rss_kib(pid).unwrap_or_else(|e| fail(e));
                let mut command = self.loadgen();
                command.args(["idle", "--addr", &server.addr, "--conns", &idle.to_string(), "--path", path]);
                let mut client = command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| fail(format!("loadgen: {e}")));
                let mut ready = String::new();
                if let Some(stdout) = client.stdout.take() {
                    let _ = BufReader::new(stdout).read_line(&mut ready);
                }
                let line = if let Some(rest) = ready.trim().strip_prefix("ready ") {
                    // Let the server settle (tasks parked, buffers released) before reading.
                    std::thread::sleep(Duration::from_secs(2));
                    let after = rss_kib(pid).unwrap_or_else(|e| fail(e));
                    let per_conn = (after.saturating_sub(before)) as f64 * 1024.0 / idle as f64;
                    format!(
                        "kind=memory server={name} rep={rep} {rest} rss_before_kib={before} rss_after_kib={after} \
                         threads={} bytes_per_conn={per_conn:.0}{}{broadcast_key}",
                        threads(pid).unwrap_or(0),
                        self.deflate_key()
                    )
                } else {
                    format!(
                        "kind=memory server={name} rep={rep} error=\"no ready line\"{}{broadcast_key}",
                        self.deflate_key()
                    )
                };
                drop(client.stdin.take());
                let _ = client.wait();
                drop(server);
                eprintln!("{line}");
                self.record(&line);
                records.extend(Record::parse(&line));
            }
        }
        print!("{}", tables(&records));
    }

    /// `--servers` if given, else `default`.
    fn servers_or(&self, args: &Args, default: &str) -> Vec<String> {
        args.value("servers").unwrap_or(default).split(',').map(str::to_owned).collect()
    }

    fn broadcast(&self, args: &Args) {
        if self.tls.is_some() {
            fail("the broadcast benchmark has no wss form");
        }
        let list = |name: &str, default: &str| -> Vec<usize> {
            args.value(name)
                .unwrap_or(default)
                .split(',')
                .map(|v| v.parse().unwrap_or_else(|_| fail(format!("bad --{name}: {v}"))))
                .collect()
        };
        let servers = self.servers_or(args, if self.deflate { BROADCAST_DEFLATE_SERVERS } else { BROADCAST_SERVERS });
        let subs = list("subs", "1000,10000");
        let sizes = list("sizes", "1024");
        let windows = list("windows", "8");
        let reps: usize = args.get("reps", 3);
        let warmup: f64 = args.get("warmup", 1.0);
        let duration: f64 = args.get("duration", 3.0);
        let count_allocs = args.switch("count-allocs");
        let mut records = Vec::new();
        let started = Instant::now();
        for &size in &sizes {
            for &window in &windows {
                for &n in &subs {
                    for rep in 0..reps {
                        for name in &servers {
                            let server = self.start_broadcast(name, count_allocs);
                            let mut command = self.loadgen();
                            command.args(["broadcast", "--addr", &server.addr, "--subs", &n.to_string()]);
                            command.args(["--size", &size.to_string(), "--window", &window.to_string()]);
                            command.args(["--warmup", &warmup.to_string(), "--duration", &duration.to_string()]);
                            command.args(["--server-pid", &server.child.id().to_string()]);
                            if let Some(stats) = &server.stats {
                                command.args(["--alloc-stats", stats]);
                            }
                            let result = self.run_loadgen(command);
                            drop(server);
                            let line = format!("kind=broadcast server={name} rep={rep} {result} load1={}", load1());
                            eprintln!("[{:>5.0}s] {line}", started.elapsed().as_secs_f64());
                            self.record(&line);
                            records.extend(Record::parse(&line));
                        }
                    }
                }
            }
        }
        print!("{}", tables(&records));
    }

    fn handshake(&self, args: &Args) {
        let reps: usize = args.get("reps", 3);
        let concurrency: usize = args.get("concurrency", 32);
        let duration: f64 = args.get("duration", 3.0);
        let mut records = Vec::new();
        for rep in 0..reps {
            for name in &self.servers {
                let server = self.start(name, false);
                let mut command = self.loadgen();
                command.args(["handshake", "--addr", &server.addr, "--concurrency", &concurrency.to_string()]);
                command.args(["--duration", &duration.to_string(), "--server-pid", &server.child.id().to_string()]);
                let result = self.run_loadgen(command);
                drop(server);
                let line = format!("kind=handshake server={name} rep={rep} {result}{}", self.deflate_key());
                eprintln!("{line}");
                self.record(&line);
                records.extend(Record::parse(&line));
            }
        }
        print!("{}", tables(&records));
    }
}

// --- Results and tables ------------------------------------------------------------------------

/// One raw result line: `key=value` pairs.
struct Record(BTreeMap<String, String>);

impl Record {
    fn parse(line: &str) -> Option<Self> {
        let map: BTreeMap<String, String> = line
            .split_whitespace()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        map.contains_key("kind").then_some(Self(map))
    }

    fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }

    fn num(&self, key: &str) -> Option<f64> {
        self.0.get(key)?.parse().ok().filter(|v: &f64| v.is_finite())
    }

    fn deflate(&self) -> bool {
        self.get("deflate") == "1"
    }

    fn tls(&self) -> bool {
        self.get("tls") == "1"
    }

    /// The server's name in the idle-memory and handshake table: with ` broadcast` for the
    /// broadcast servers and ` deflate` for a deflate run, so that each kind of run of one
    /// server keeps its own rows.
    fn server_label(&self) -> String {
        let mut label = self.get("server").to_owned();
        if self.get("broadcast") == "1" {
            label += " broadcast";
        }
        if self.deflate() {
            label += " deflate";
        }
        if self.tls() {
            label += " tls";
        }
        label
    }
}

/// The one-minute load average, recorded beside each measurement: other work on the machine.
fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "-".into())
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 })
}

/// A peer: a library we compare with. `floor` (`echo-floor`, the least any server can spend)
/// is no peer: its ratio columns say how far below the best peer a server can go at all.
fn is_peer(server: &str) -> bool {
    !server.starts_with("laputa") && server != "floor"
}

fn size_label(size: &str) -> String {
    match size.parse::<u64>() {
        Ok(n) if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        Ok(n) if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        Ok(n) => format!("{n} B"),
        Err(_) => size.to_owned(),
    }
}

/// Servers, named by `label`, in order of first appearance.
fn servers_of<'a>(records: impl Iterator<Item = &'a Record>, label: impl Fn(&Record) -> String) -> Vec<String> {
    let mut servers: Vec<String> = Vec::new();
    for r in records {
        let label = label(r);
        if !servers.contains(&label) {
            servers.push(label);
        }
    }
    servers
}

fn fmt_num(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "-".into())
}

fn fmt_rate(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 10_000.0 => format!("{:.0}k", v / 1000.0),
        Some(v) if v >= 1_000.0 => format!("{:.1}k", v / 1000.0),
        Some(v) => format!("{v:.0}"),
        None => "-".into(),
    }
}

/// The markdown tables for the records given.
fn tables(records: &[Record]) -> String {
    let mut out = String::new();
    let echo: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "echo" && !r.deflate() && !r.tls()).collect();
    if !echo.is_empty() {
        echo_tables(&echo, "", &mut out);
    }
    let echo: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "echo" && r.tls()).collect();
    if !echo.is_empty() {
        echo_tables(&echo, " over TLS (wss)", &mut out);
    }
    let echo: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "echo" && r.deflate()).collect();
    if !echo.is_empty() {
        echo_tables(&echo, " with permessage-deflate", &mut out);
    }
    let broadcast: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "broadcast").collect();
    if !broadcast.is_empty() {
        broadcast_tables(&broadcast, &mut out);
    }
    let http: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "http").collect();
    if !http.is_empty() {
        http_bench::http_tables(&http, &mut out);
    }
    let cluster: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "cluster").collect();
    if !cluster.is_empty() {
        cluster_bench::cluster_tables(&cluster, &mut out);
    }
    let memory: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "memory").collect();
    let handshake: Vec<&Record> = records.iter().filter(|r| r.get("kind") == "handshake").collect();
    if !memory.is_empty() || !handshake.is_empty() {
        let servers = servers_of(memory.iter().chain(&handshake).copied(), Record::server_label);
        let med = |rs: &[&Record], server: &str, key: &str| {
            median(rs.iter().filter(|r| r.server_label() == server).filter_map(|r| r.num(key)).collect())
        };
        // The best peer of the same kind of run (what follows the name: a deflate row against
        // deflate peers only, a broadcast server against broadcast servers).
        let kind_of = |label: &str| label.split_once(' ').map_or("", |(_, kind)| kind).to_owned();
        let best_peer = |rs: &[&Record], key: &str, lowest: bool, kind: &str| {
            let values = servers.iter().filter(|s| is_peer(s) && kind_of(s) == kind).filter_map(|s| med(rs, s, key));
            if lowest {
                values.reduce(f64::min)
            } else {
                values.reduce(f64::max)
            }
        };
        let ratio = |v: Option<f64>, best: Option<f64>| match (v, best) {
            (Some(v), Some(b)) if b > 0.0 => format!("{:.2}x", v / b),
            _ => "-".into(),
        };
        let _ = writeln!(out, "\n### Idle memory and connection setup\n");
        let _ = writeln!(
            out,
            "| server | bytes per idle connection | vs best peer | handshakes/s | vs best peer | server CPU µs per handshake | vs best peer |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for s in &servers {
            let kind = kind_of(s);
            let mem_best = best_peer(&memory, "bytes_per_conn", true, &kind);
            let hs_best = best_peer(&handshake, "handshakes_per_s", false, &kind);
            let hs_cpu_best = best_peer(&handshake, "server_cpu_us_per_handshake", true, &kind);
            let m = med(&memory, s, "bytes_per_conn");
            let h = med(&handshake, s, "handshakes_per_s");
            let c = med(&handshake, s, "server_cpu_us_per_handshake");
            let _ = writeln!(
                out,
                "| {s} | {} | {} | {} | {} | {} | {} |",
                fmt_num(m, 0),
                ratio(m, mem_best),
                fmt_rate(h),
                ratio(h, hs_best),
                fmt_num(c, 1),
                ratio(c, hs_cpu_best)
            );
        }
    }
    out
}

/// The echo tables of `echo` (all of one kind: with or without deflate, which `title` says).
/// A cell of the echo matrix: mode, window, size and connections, as the raw results spell them.
type Cell = (String, String, String, String);

fn echo_tables(echo: &[&Record], title: &str, out: &mut String) {
    let servers = servers_of(echo.iter().copied(), |r| r.get("server").to_owned());
    let mut cells: Vec<Cell> = Vec::new();
    for r in echo {
        let key =
            (r.get("mode").to_owned(), r.get("window").to_owned(), r.get("size").to_owned(), r.get("conns").to_owned());
        if !cells.contains(&key) {
            cells.push(key);
        }
    }
    cells.sort_by_key(|(mode, window, size, conns)| {
        (
            mode.clone(),
            window.parse::<u64>().unwrap_or(0),
            size.parse::<u64>().unwrap_or(0),
            conns.parse::<u64>().unwrap_or(0),
        )
    });
    let ours: Vec<&String> = servers.iter().filter(|s| !is_peer(s)).collect();
    let has_allocs = echo.iter().any(|r| r.num("allocs_per_msg").is_some());
    let has_wire = echo.iter().any(|r| r.num("echo_wire_bytes_per_msg").is_some());
    let _ = writeln!(
        out,
        "\n### Echo{title}: medians (messages/s; server CPU µs per echoed message)\n\n\
         Ratios are ours over the best peer of the cell: messages/s (higher is better) and CPU per message (lower is better).\n"
    );
    let mut header = String::from("| mode | size | conns |");
    let mut rule = String::from("|---|---:|---:|");
    for s in &servers {
        let _ = write!(header, " {s} msg/s | {s} µs |");
        rule.push_str("---:|---:|");
    }
    for s in &ours {
        let _ = write!(header, " {s} msg/s ratio | {s} CPU ratio |");
        rule.push_str("---:|---:|");
    }
    if has_allocs {
        for s in &servers {
            let _ = write!(header, " {s} allocs/msg |");
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (mode, window, size, conns) in &cells {
        let med = |s: &str, key: &str| cell_median(echo, s, (mode, window, size, conns), key);
        let mode_label = if mode == "pipelined" { format!("pipelined {window}") } else { mode.clone() };
        let mut row = format!("| {mode_label} | {} | {conns} |", size_label(size));
        for s in &servers {
            let _ =
                write!(row, " {} | {} |", fmt_rate(med(s, "msgs_per_s")), fmt_num(med(s, "server_cpu_us_per_msg"), 2));
        }
        let peers = servers.iter().filter(|s| is_peer(s));
        let best_rate = peers.clone().filter_map(|s| med(s, "msgs_per_s")).reduce(f64::max);
        let best_cpu = peers.filter_map(|s| med(s, "server_cpu_us_per_msg")).reduce(f64::min);
        for s in &ours {
            let rate = med(s, "msgs_per_s").zip(best_rate).map(|(v, b)| format!("{:.2}x", v / b));
            let cpu = med(s, "server_cpu_us_per_msg").zip(best_cpu).map(|(v, b)| format!("{:.2}x", v / b));
            let _ = write!(row, " {} | {} |", rate.unwrap_or("-".into()), cpu.unwrap_or("-".into()));
        }
        if has_allocs {
            for s in &servers {
                let _ = write!(row, " {} |", fmt_num(med(s, "allocs_per_msg"), 3));
            }
        }
        let _ = writeln!(out, "{row}");
    }
    // Round-trip latency and the load generator's CPU, to show where the client is the limit.
    // Older raw results have no least-served share.
    let has_share = echo.iter().any(|r| r.num("least_served_share").is_some());
    if has_wire {
        let _ = writeln!(
            out,
            "\n### Echo{title}: round trip p50 / p99 (µs), load generator CPU %, bytes on the wire per message\n\n\
             sent B: mean compressed payload of the load generator's messages; echo B: mean payload of \
             each server's (compressed) echoes as received.\n"
        );
    } else {
        let _ = writeln!(out, "\n### Echo{title}: round trip p50 / p99 (µs) and load generator CPU %\n");
    }
    if has_share {
        let _ = writeln!(
            out,
            "least served: the echoes of the connection served least over the mean per connection \
             (1 is fair; near 0, the round-trip times above come from the connections served).\n"
        );
    }
    let mut header = String::from("| mode | size | conns |");
    let mut rule = String::from("|---|---:|---:|");
    if has_wire {
        header.push_str(" sent B |");
        rule.push_str("---:|");
    }
    for s in &servers {
        let _ = write!(header, " {s} p50/p99 | {s} client CPU |");
        rule.push_str("---:|---:|");
        if has_share {
            let _ = write!(header, " {s} least served |");
            rule.push_str("---:|");
        }
        if has_wire {
            let _ = write!(header, " {s} echo B |");
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (mode, window, size, conns) in &cells {
        let med = |s: &str, key: &str| cell_median(echo, s, (mode, window, size, conns), key);
        let mode_label = if mode == "pipelined" { format!("pipelined {window}") } else { mode.clone() };
        let mut row = format!("| {mode_label} | {} | {conns} |", size_label(size));
        if has_wire {
            let sent = median(
                echo.iter()
                    .filter(|r| {
                        r.get("mode") == mode.as_str()
                            && r.get("window") == window.as_str()
                            && r.get("size") == size.as_str()
                            && r.get("conns") == conns.as_str()
                    })
                    .filter_map(|r| r.num("sent_wire_bytes_per_msg"))
                    .collect(),
            );
            let _ = write!(row, " {} |", fmt_num(sent, 0));
        }
        for s in &servers {
            let _ = write!(
                row,
                " {}/{} | {}% |",
                fmt_num(med(s, "p50_us"), 0),
                fmt_num(med(s, "p99_us"), 0),
                fmt_num(med(s, "client_cpu_pct"), 0)
            );
            if has_share {
                let _ = write!(row, " {} |", fmt_num(med(s, "least_served_share"), 2));
            }
            if has_wire {
                let _ = write!(row, " {} |", fmt_num(med(s, "echo_wire_bytes_per_msg"), 0));
            }
        }
        let _ = writeln!(out, "{row}");
    }
    // Older raw results have no split of the server's CPU.
    if echo.iter().any(|r| r.num("server_system_us_per_msg").is_some()) {
        kernel_share_table(out, title, echo, &servers, &cells);
    }
}

/// The server's system CPU per message beside its user CPU: the kernel's TCP work, which every
/// server pays alike, bounds how far below a peer any server can go.
fn kernel_share_table(out: &mut String, title: &str, echo: &[&Record], servers: &[String], cells: &[Cell]) {
    let _ = writeln!(
        out,
        "\n### Echo{title}: server CPU µs per message in the kernel (system) and in the process (user)\n"
    );
    let mut header = String::from("| mode | size | conns |");
    let mut rule = String::from("|---|---:|---:|");
    for s in servers {
        let _ = write!(header, " {s} system | {s} user |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (mode, window, size, conns) in cells {
        let med = |s: &str, key: &str| cell_median(echo, s, (mode, window, size, conns), key);
        let mode_label = if mode == "pipelined" { format!("pipelined {window}") } else { mode.clone() };
        let mut row = format!("| {mode_label} | {} | {conns} |", size_label(size));
        for s in servers {
            let system = med(s, "server_system_us_per_msg");
            let user = med(s, "server_cpu_us_per_msg").zip(system).map(|(total, system)| total - system);
            let _ = write!(row, " {} | {} |", fmt_num(system, 2), fmt_num(user, 2));
        }
        let _ = writeln!(out, "{row}");
    }
}

/// The median of `key` over the records of one server in one cell (mode, window, size, conns).
fn cell_median(echo: &[&Record], server: &str, cell: (&str, &str, &str, &str), key: &str) -> Option<f64> {
    let (mode, window, size, conns) = cell;
    median(
        echo.iter()
            .filter(|r| {
                r.get("server") == server
                    && r.get("mode") == mode
                    && r.get("window") == window
                    && r.get("size") == size
                    && r.get("conns") == conns
            })
            .filter_map(|r| r.num(key))
            .collect(),
    )
}

/// The broadcast tables: per cell (deflate or not, subscribers, size, window), each server's
/// deliveries per second and CPU per delivery, ours over the best peer, then latency, the load
/// generator's CPU, bytes on the wire per delivery and the server's memory under load.
fn broadcast_tables(records: &[&Record], out: &mut String) {
    type BroadcastCell = (bool, u64, u64, u64);
    let mut cells: Vec<BroadcastCell> = Vec::new();
    for r in records {
        let key = (
            r.deflate(),
            r.num("subs").unwrap_or(0.0) as u64,
            r.num("size").unwrap_or(0.0) as u64,
            r.num("window").unwrap_or(0.0) as u64,
        );
        if !cells.contains(&key) {
            cells.push(key);
        }
    }
    cells.sort();
    for deflate in [false, true] {
        let rs: Vec<&Record> = records.iter().copied().filter(|r| r.deflate() == deflate).collect();
        if rs.is_empty() {
            continue;
        }
        let servers = servers_of(rs.iter().copied(), |r| r.get("server").to_owned());
        let ours: Vec<&String> = servers.iter().filter(|s| !is_peer(s)).collect();
        let title = if deflate { " with permessage-deflate (no server context takeover)" } else { "" };
        let med = |s: &str, cell: &BroadcastCell, key: &str| {
            median(
                rs.iter()
                    .filter(|r| {
                        r.get("server") == s
                            && r.num("subs") == Some(cell.1 as f64)
                            && r.num("size") == Some(cell.2 as f64)
                            && r.num("window") == Some(cell.3 as f64)
                    })
                    .filter_map(|r| r.num(key))
                    .collect(),
            )
        };
        let _ = writeln!(
            out,
            "\n### Broadcast{title}: medians (deliveries/s; server CPU µs per delivery)\n\n\
             Ratios are ours over the best peer of the cell: deliveries/s (higher is better) and CPU per delivery (lower is better).\n"
        );
        let mut header = String::from("| subscribers | size | window |");
        let mut rule = String::from("|---:|---:|---:|");
        for s in &servers {
            let _ = write!(header, " {s} deliveries/s | {s} µs |");
            rule.push_str("---:|---:|");
        }
        for s in &ours {
            let _ = write!(header, " {s} rate ratio | {s} CPU ratio |");
            rule.push_str("---:|---:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        let cells_here: Vec<&BroadcastCell> = cells.iter().filter(|c| c.0 == deflate).collect();
        for cell in &cells_here {
            let mut row = format!("| {} | {} | {} |", cell.1, size_label(&cell.2.to_string()), cell.3);
            for s in &servers {
                let _ = write!(
                    row,
                    " {} | {} |",
                    fmt_rate(med(s, cell, "deliveries_per_s")),
                    fmt_num(med(s, cell, "server_cpu_us_per_delivery"), 2)
                );
            }
            let peers = servers.iter().filter(|s| is_peer(s));
            let best_rate = peers.clone().filter_map(|s| med(s, cell, "deliveries_per_s")).reduce(f64::max);
            let best_cpu = peers.filter_map(|s| med(s, cell, "server_cpu_us_per_delivery")).reduce(f64::min);
            for s in &ours {
                let rate = med(s, cell, "deliveries_per_s").zip(best_rate).map(|(v, b)| format!("{:.2}x", v / b));
                let cpu =
                    med(s, cell, "server_cpu_us_per_delivery").zip(best_cpu).map(|(v, b)| format!("{:.2}x", v / b));
                let _ = write!(row, " {} | {} |", rate.unwrap_or("-".into()), cpu.unwrap_or("-".into()));
            }
            let _ = writeln!(out, "{row}");
        }
        let _ = writeln!(
            out,
            "\n### Broadcast{title}: delivery latency p50 / p99 (ms), load generator CPU %, payload bytes per delivery on the wire, server RSS under load (MiB)\n"
        );
        let mut header = String::from("| subscribers | size | window |");
        let mut rule = String::from("|---:|---:|---:|");
        for s in &servers {
            let _ = write!(header, " {s} p50/p99 | {s} client CPU | {s} wire B | {s} RSS |");
            rule.push_str("---:|---:|---:|---:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for cell in &cells_here {
            let mut row = format!("| {} | {} | {} |", cell.1, size_label(&cell.2.to_string()), cell.3);
            for s in &servers {
                let _ = write!(
                    row,
                    " {}/{} | {}% | {} | {} |",
                    fmt_num(med(s, cell, "p50_us").map(|v| v / 1e3), 1),
                    fmt_num(med(s, cell, "p99_us").map(|v| v / 1e3), 1),
                    fmt_num(med(s, cell, "client_cpu_pct"), 0),
                    fmt_num(med(s, cell, "wire_bytes_per_delivery"), 0),
                    fmt_num(med(s, cell, "server_rss_kib").map(|v| v / 1024.0), 0),
                );
            }
            let _ = writeln!(out, "{row}");
        }
        if rs.iter().any(|r| r.num("allocs_per_delivery").is_some()) {
            let _ = writeln!(out, "\n### Broadcast{title}: allocations per delivery\n");
            let mut header = String::from("| subscribers | size | window |");
            let mut rule = String::from("|---:|---:|---:|");
            for s in &servers {
                let _ = write!(header, " {s} |");
                rule.push_str("---:|");
            }
            let _ = writeln!(out, "{header}\n{rule}");
            for cell in &cells_here {
                let mut row = format!("| {} | {} | {} |", cell.1, size_label(&cell.2.to_string()), cell.3);
                for s in &servers {
                    let _ = write!(row, " {} |", fmt_num(med(s, cell, "allocs_per_delivery"), 3));
                }
                let _ = writeln!(out, "{row}");
            }
        }
    }
}
