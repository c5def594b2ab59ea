//! `bench-run http` (issue 20): plain HTTP file serving with keep-alive, `http-laputa`
//! (`laputa::server` with a document root) against `http-axum` (axum with tower-http's
//! `ServeDir`), both serving the same two files from the same directory, under `wrk` (Debian's
//! package: `apt-get install -y wrk`; the runner installs nothing).
//!
//! For each file, each connection count and each repetition, the servers are started in turn
//! (A B A B ...), each pinned to the server core, and `wrk -t1 -cN -dDs --latency` pinned to the
//! client core is run against it, after an unmeasured warm-up run. Requests/s and latency come
//! from wrk's report; the server's CPU time (user + system, all threads) from `/proc/PID/stat`
//! before and after the measured run; wrk's own CPU from this process's `cutime`/`cstime` (wrk is
//! its only child waited for in between), which says when the load generator is the limit.
//! Before the first run each server's answer is fetched once with `Connection: close`, to record
//! its status and the size of its head (the two send different headers).

use super::{fmt_num, fmt_rate, is_peer, load1, median, Record, Runner};
use laputa_bench::{clock_ticks_per_second, cpu_times, fail, Args};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default servers of `http`: ours, then the peer.
pub(super) const HTTP_SERVERS: &str = "laputa,axum";

/// The files served: a small text file and a 64 KiB one (name, size).
const FILES: [(&str, usize); 2] = [("small.txt", 100), ("64k.bin", 64 * 1024)];

/// Writes the files served into `dir` (created if missing): `small.txt`, 100 bytes of text, and
/// `64k.bin`, 64 KiB of bytes that do not repeat in short periods.
fn make_files(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut small = b"laputa bench (issue 20): a small static file served with keep-alive to wrk. ".to_vec();
    small.resize(FILES[0].1 - 1, b'.');
    small.push(b'\n');
    std::fs::write(dir.join(FILES[0].0), small)?;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let large: Vec<u8> = (0..FILES[1].1)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(dir.join(FILES[1].0), large)
}

/// CPU time (user + system, in clock ticks) of this process's children that were waited for.
fn children_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': cutime (field 16) and cstime (17) are at 13 and 14.
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    num(13) + num(14)
}

/// One `GET` of `path` with `Connection: close`: the status line and the size of the head.
fn probe(addr: &str, path: &str) -> (String, usize) {
    let fetch = || -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer)
    };
    let answer = fetch().unwrap_or_else(|e| fail(format!("GET {path} from {addr}: {e}")));
    let head_len = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&answer[..head_len]);
    let status = head.lines().next().unwrap_or("").split_whitespace().nth(1).unwrap_or("?").to_owned();
    (status, head_len)
}

/// A latency of wrk's report (`112.81us`, `1.23ms`, `2.00s`) in microseconds.
fn wrk_micros(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    Some(match unit {
        "us" => value,
        "ms" => value * 1e3,
        "s" => value * 1e6,
        "m" => value * 60e6,
        _ => return None,
    })
}

/// The figures of a wrk report as `key=value` pairs: requests, requests/s, p50 and p99, errors.
fn parse_wrk(report: &str) -> Result<String, String> {
    let mut requests = None;
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let mut non2xx = 0u64;
    let mut socket_errors = 0u64;
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [n, "requests", "in", ..] => requests = n.parse::<u64>().ok(),
            ["Requests/sec:", v] => rps = v.parse::<f64>().ok(),
            ["50%", v] => p50 = wrk_micros(v),
            ["99%", v] => p99 = wrk_micros(v),
            ["Non-2xx", "or", "3xx", "responses:", n] => non2xx = n.parse().unwrap_or(u64::MAX),
            ["Socket", "errors:", rest @ ..] => {
                socket_errors = rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum();
            }
            _ => {}
        }
    }
    match (requests, rps) {
        (Some(requests), Some(rps)) => Ok(format!(
            "requests={requests} rps={rps:.0} p50_us={} p99_us={} non2xx={non2xx} socket_errors={socket_errors}",
            fmt_num(p50, 1),
            fmt_num(p99, 1)
        )),
        _ => Err(format!("no figures in wrk's report: {report:?}")),
    }
}

impl Runner {
    /// `wrk` pinned to the client core against `url`; its report, or why there is none.
    fn wrk(&self, conns: usize, duration: u64, url: &str) -> Result<String, String> {
        let output = Command::new("taskset")
            .arg("-c")
            .arg(&self.client_cpu)
            .args(["wrk", "-t1", &format!("-c{conns}"), &format!("-d{duration}s"), "--latency", url])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("wrk: {e} (apt-get install -y wrk)"))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(if output.stderr.is_empty() { &output.stdout } else { &output.stderr });
            return Err(format!("wrk: {}", said.trim()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `bench-run http`: see this module's doc.
    pub(super) fn http(&self, args: &Args) {
        let servers = self.servers_or(args, HTTP_SERVERS);
        let conns: Vec<usize> = args
            .value("conns")
            .unwrap_or("10,100")
            .split(',')
            .map(|v| v.parse().unwrap_or_else(|_| fail(format!("bad --conns: {v}"))))
            .collect();
        let reps: usize = args.get("reps", 3);
        // Whole seconds: wrk takes no fractions.
        let warmup: u64 = args.get("warmup", 1);
        let duration: u64 = args.get("duration", 4);
        let root = PathBuf::from(args.value("root").unwrap_or("target/bench/http-root"));
        make_files(&root).unwrap_or_else(|e| fail(format!("{}: {e}", root.display())));
        let root_arg = root.to_string_lossy().into_owned();
        let ticks = clock_ticks_per_second() as f64;
        let mut records = Vec::new();
        let started = Instant::now();
        for (file, size) in FILES {
            for &n in &conns {
                for rep in 0..reps {
                    for name in &servers {
                        let server = self.start_program(&format!("http-{name}"), &["--root", &root_arg], false);
                        let pid = server.child.id();
                        let (status, head_bytes) = probe(&server.addr, &format!("/{file}"));
                        let url = format!("http://{}/{file}", server.addr);
                        let measured = (|| {
                            if warmup > 0 {
                                self.wrk(n, warmup, &url)?;
                            }
                            let cpu_before = cpu_times(pid).map_err(|e| e.to_string())?;
                            let client_before = children_cpu_ticks();
                            let clock = Instant::now();
                            let report = self.wrk(n, duration, &url)?;
                            let wall = clock.elapsed().as_secs_f64();
                            let cpu_after = cpu_times(pid).map_err(|e| e.to_string())?;
                            let client = (children_cpu_ticks() - client_before) as f64 / ticks;
                            let (user, system) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
                            let figures = parse_wrk(&report)?;
                            let requests: f64 = figures
                                .split_whitespace()
                                .find_map(|kv| kv.strip_prefix("requests=")?.parse().ok())
                                .unwrap_or(0.0);
                            let cpu_s = (user + system) as f64 / ticks;
                            Ok::<_, String>(format!(
                                "{figures} server_cpu_us_per_req={:.3} server_cpu_pct={:.0} server_sys_pct={:.0} \
                                 client_cpu_pct={:.0}",
                                cpu_s * 1e6 / requests.max(1.0),
                                cpu_s * 100.0 / wall,
                                system as f64 / ticks * 100.0 / wall,
                                client * 100.0 / wall,
                            ))
                        })();
                        drop(server);
                        let result = measured.unwrap_or_else(|e| format!("error={e:?}"));
                        let line = format!(
                            "kind=http server={name} file={file} size={size} conns={n} rep={rep} duration={duration} \
                             status={status} head_bytes={head_bytes} {result} load1={}",
                            load1()
                        );
                        eprintln!("[{:>5.0}s] {line}", started.elapsed().as_secs_f64());
                        self.record(&line);
                        records.extend(Record::parse(&line));
                    }
                }
            }
        }
        print!("{}", super::tables(&records));
    }
}

/// The plain HTTP tables: per file and connection count, each server's requests/s and CPU per
/// request with ours over the best peer, then latency, CPU shares and head sizes.
pub(super) fn http_tables(records: &[&Record], out: &mut String) {
    let mut cells: Vec<(u64, u64)> = Vec::new();
    for r in records {
        let cell = (r.num("size").unwrap_or(0.0) as u64, r.num("conns").unwrap_or(0.0) as u64);
        if !cells.contains(&cell) {
            cells.push(cell);
        }
    }
    cells.sort();
    let mut servers: Vec<String> = Vec::new();
    for r in records {
        if !servers.iter().any(|s| s == r.get("server")) {
            servers.push(r.get("server").to_owned());
        }
    }
    let ours: Vec<&String> = servers.iter().filter(|s| !is_peer(s)).collect();
    let med = |s: &str, cell: (u64, u64), key: &str| {
        median(
            records
                .iter()
                .filter(|r| {
                    r.get("server") == s
                        && r.num("size") == Some(cell.0 as f64)
                        && r.num("conns") == Some(cell.1 as f64)
                })
                .filter_map(|r| r.num(key))
                .collect(),
        )
    };
    let file_of = |size: u64| FILES.iter().find(|f| f.1 as u64 == size).map_or(size.to_string(), |f| f.0.to_owned());
    let _ = writeln!(
        out,
        "\n### Plain HTTP (wrk, keep-alive): medians (requests/s; server CPU µs per request)\n\n\
         Ratios are ours over the best peer of the cell: requests/s (higher is better) and CPU per request (lower is better).\n"
    );
    let mut header = String::from("| file | conns |");
    let mut rule = String::from("|---|---:|");
    for s in &servers {
        let _ = write!(header, " {s} req/s | {s} µs/req |");
        rule.push_str("---:|---:|");
    }
    for s in &ours {
        let _ = write!(header, " {s} req/s ratio | {s} CPU ratio |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for &cell in &cells {
        let mut row = format!("| {} | {} |", file_of(cell.0), cell.1);
        for s in &servers {
            let _ = write!(
                row,
                " {} | {} |",
                fmt_rate(med(s, cell, "rps")),
                fmt_num(med(s, cell, "server_cpu_us_per_req"), 2)
            );
        }
        let peers = servers.iter().filter(|s| is_peer(s));
        let best_rate = peers.clone().filter_map(|s| med(s, cell, "rps")).reduce(f64::max);
        let best_cpu = peers.filter_map(|s| med(s, cell, "server_cpu_us_per_req")).reduce(f64::min);
        for s in &ours {
            let rate = med(s, cell, "rps").zip(best_rate).map(|(v, b)| format!("{:.2}x", v / b));
            let cpu = med(s, cell, "server_cpu_us_per_req").zip(best_cpu).map(|(v, b)| format!("{:.2}x", v / b));
            let _ = write!(row, " {} | {} |", rate.unwrap_or("-".into()), cpu.unwrap_or("-".into()));
        }
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(
        out,
        "\n### Plain HTTP: latency p50 / p99 (µs), server CPU % (of which system), wrk's CPU %, response head bytes\n"
    );
    let mut header = String::from("| file | conns |");
    let mut rule = String::from("|---|---:|");
    for s in &servers {
        let _ = write!(header, " {s} p50/p99 | {s} CPU % (sys) | {s} wrk CPU % | {s} head B |");
        rule.push_str("---:|---:|---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for &cell in &cells {
        let mut row = format!("| {} | {} |", file_of(cell.0), cell.1);
        for s in &servers {
            let _ = write!(
                row,
                " {}/{} | {} ({}) | {} | {} |",
                fmt_num(med(s, cell, "p50_us"), 0),
                fmt_num(med(s, cell, "p99_us"), 0),
                fmt_num(med(s, cell, "server_cpu_pct"), 0),
                fmt_num(med(s, cell, "server_sys_pct"), 0),
                fmt_num(med(s, cell, "client_cpu_pct"), 0),
                fmt_num(med(s, cell, "head_bytes"), 0),
            );
        }
        let _ = writeln!(out, "{row}");
    }
    let failed = records
        .iter()
        .filter(|r| r.num("non2xx").is_none_or(|n| n > 0.0) || r.num("socket_errors").is_some_and(|n| n > 0.0));
    let failed: Vec<String> = failed
        .map(|r| format!("{} {} c{} rep {}", r.get("server"), r.get("file"), r.get("conns"), r.get("rep")))
        .collect();
    if !failed.is_empty() {
        let _ =
            writeln!(out, "\nRuns with errors (non-2xx answers, socket errors, or no report): {}", failed.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_gives_its_figures() {
        let report = "Running 3s test @ http://127.0.0.1:9200/small.txt
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   112.81us   30.12us   1.23ms   90.12%
    Req/Sec    80.12k     3.21k   85.00k    80.00%
  Latency Distribution
     50%  108.00us
     75%  120.00us
     90%  140.00us
     99%    1.22ms
  240000 requests in 3.00s, 50.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  80000.00
Transfer/sec:     16.67MB
";
        assert_eq!(
            parse_wrk(report).unwrap(),
            "requests=240000 rps=80000 p50_us=108.0 p99_us=1220.0 non2xx=0 socket_errors=3"
        );
        assert!(parse_wrk("wrk: connection refused").is_err());
    }
}
