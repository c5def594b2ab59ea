//! `bench-run cluster`: the cross-node broadcast of issue 21 (two laputa nodes joined by one
//! Redis, node-local against cross-node delivery), in a file of its own.
//!
//! ```text
//! bench-run cluster [--subs 1000] [--size 1024] [--rates 20,100] [--windows 128] [--reps 3]
//!                   [--warmup 1] [--duration 5] [--out FILE]
//! ```
//!
//! Each repetition runs `loadgen cluster` once per pacing: each `--rates` (messages/s on a fixed
//! schedule: latency below saturation), then each `--windows` (a closed loop: the rate the
//! cluster sustains). Every run has its own throwaway `redis-server` (loopback, no persistence)
//! pinned to the client CPU and its own two `broadcast-laputa --redis URL --node a|b` pinned
//! together to the server CPU (each listens once its subscription is in place); Redis's idle
//! CPU with both nodes joined (heartbeats, its own timers) is measured for two seconds before
//! the load, which opens `--subs` subscribers on each node and the publisher on node A.

use super::{fmt_num, fmt_rate, load1, median, Record, Runner, Server};
use laputa_bench::{fail, run_nanos, Args};
use std::fmt::Write as _;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long Redis's idle CPU is measured, with both nodes joined and no load.
const IDLE: Duration = Duration::from_secs(2);

impl Runner {
    /// Starts a throwaway `redis-server` on the client CPU and waits until it accepts connections.
    fn start_redis(&self) -> Server {
        let addr = format!("127.0.0.1:{}", self.next_port());
        let port = addr.rsplit_once(':').map_or("", |(_, port)| port);
        let mut command = Command::new("taskset");
        command.args(["-c", &self.client_cpu, "redis-server", "--port", port, "--bind", "127.0.0.1"]);
        command.args(["--save", "", "--appendonly", "no"]);
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("redis-server (apt-get install redis-server): {e}")));
        let redis = Server { child, addr, stats: None };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&redis.addr).is_err() {
            if Instant::now() > deadline {
                fail(format!("redis-server did not start listening on {}", redis.addr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub(super) fn cluster(&self, args: &Args) {
        if self.tls.is_some() || self.deflate {
            fail("the cross-node broadcast has no wss or deflate form");
        }
        let list = |name: &str, default: &str| -> Vec<String> {
            let values: Vec<String> =
                args.value(name).unwrap_or(default).split(',').filter(|v| !v.is_empty()).map(str::to_owned).collect();
            if let Some(bad) = values.iter().find(|v| v.parse::<f64>().is_err()) {
                fail(format!("bad --{name}: {bad}"));
            }
            values
        };
        let pacings: Vec<(&str, String)> = list("rates", "20,100")
            .into_iter()
            .map(|r| ("--rate", r))
            .chain(list("windows", "128").into_iter().map(|w| ("--window", w)))
            .collect();
        let subs: usize = args.get("subs", 1000);
        let size: usize = args.get("size", 1024);
        let reps: usize = args.get("reps", 3);
        let warmup: f64 = args.get("warmup", 1.0);
        let duration: f64 = args.get("duration", 5.0);
        let mut records = Vec::new();
        let started = Instant::now();
        for rep in 0..reps {
            for (flag, value) in &pacings {
                // Fresh nodes and Redis for every run: what a node had not yet handed to Redis
                // when a run ended (a rate above what it relays) must not reach the next run.
                let redis = self.start_redis();
                let url = format!("redis://{}/", redis.addr);
                let a = self.start_program("broadcast-laputa", &["--redis", &url, "--node", "a"], false);
                let b = self.start_program("broadcast-laputa", &["--redis", &url, "--node", "b"], false);
                let redis_pid = redis.child.id();
                let idle0 = run_nanos(redis_pid).unwrap_or_else(|e| fail(e));
                std::thread::sleep(IDLE);
                let idle = (run_nanos(redis_pid).unwrap_or_else(|e| fail(e)) - idle0) as f64 / 1e3 / IDLE.as_secs_f64();
                let mut command = self.loadgen();
                command.args(["cluster", "--addr", &a.addr, "--addr-b", &b.addr, "--subs", &subs.to_string()]);
                command.args(["--size", &size.to_string(), flag, value]);
                command.args(["--warmup", &warmup.to_string(), "--duration", &duration.to_string()]);
                command.args(["--server-pid", &a.child.id().to_string(), "--server-b-pid", &b.child.id().to_string()]);
                command.args(["--redis-pid", &redis_pid.to_string()]);
                let result = self.run_loadgen(command);
                drop((a, b, redis));
                let line = format!("kind=cluster rep={rep} {result} redis_idle_us_per_s={idle:.0} load1={}", load1());
                eprintln!("[{:>5.0}s] {line}", started.elapsed().as_secs_f64());
                self.record(&line);
                records.extend(Record::parse(&line));
            }
        }
        let records: Vec<&Record> = records.iter().collect();
        let mut out = String::new();
        cluster_tables(&records, &mut out);
        print!("{out}");
    }
}

/// Redis's CPU per published message from its scheduler time, less what it spends idle.
fn redis_net_us_per_message(r: &Record) -> Option<f64> {
    let secs = r.num("secs")?;
    let messages = r.num("published_per_s")? * secs;
    let net = r.num("redis_run_us")? - r.num("redis_idle_us_per_s")? * secs;
    (messages > 0.0).then(|| net / messages)
}

/// The tables of `bench-run cluster`: one row per pacing, medians over the repetitions.
pub(super) fn cluster_tables(records: &[&Record], out: &mut String) {
    let mut pacings: Vec<String> = Vec::new();
    // A run that failed has no pacing (its error is in the raw line); `runs` counts the others.
    for r in records {
        let pacing = r.get("pacing").to_owned();
        if !pacing.is_empty() && !pacings.contains(&pacing) {
            pacings.push(pacing);
        }
    }
    let label = |pacing: &str| match pacing.split_once(':') {
        Some(("rate", r)) => format!("{r} messages/s"),
        Some(("window", w)) => format!("window {w}"),
        _ => pacing.to_owned(),
    };
    let cell =
        |pacing: &str| -> Vec<&Record> { records.iter().copied().filter(|r| r.get("pacing") == pacing).collect() };
    let med = |pacing: &str, key: &str| median(cell(pacing).iter().filter_map(|r| r.num(key)).collect());
    let ms = |pacing: &str, key: &str| med(pacing, key).map(|us| us / 1e3);
    let reps = |pacing: &str| cell(pacing).len();

    let _ = writeln!(
        out,
        "\n### Cross-node broadcast: deliveries/s and latency p50 / p99 (ms), node-local (A) against cross-node (B)\n\n\
         | pacing | runs | messages/s | A deliveries/s | B deliveries/s | A p50 | A p99 | B p50 | B p99 |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &pacings {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            label(p),
            reps(p),
            fmt_num(med(p, "published_per_s"), 0),
            fmt_rate(med(p, "local_deliveries_per_s")),
            fmt_rate(med(p, "cross_deliveries_per_s")),
            fmt_num(ms(p, "local_p50_us"), 1),
            fmt_num(ms(p, "local_p99_us"), 1),
            fmt_num(ms(p, "cross_p50_us"), 1),
            fmt_num(ms(p, "cross_p99_us"), 1),
        );
    }
    let _ = writeln!(
        out,
        "\n### Cross-node broadcast: CPU (µs per delivery to the node's own subscribers; Redis per message)\n\n\
         | pacing | node A µs/delivery | node B µs/delivery | Redis µs/message (utime+stime) | Redis µs/message (run time, net of idle) | Redis ns/cross-node delivery | CPU % A / B / loadgen / Redis |\n\
         |---|---:|---:|---:|---:|---:|---|"
    );
    for p in &pacings {
        let net = median(cell(p).into_iter().filter_map(redis_net_us_per_message).collect());
        let cross_ns = match (net, med(p, "published_per_s"), med(p, "cross_deliveries_per_s")) {
            (Some(net), Some(m), Some(d)) if d > 0.0 => Some(net * m / d * 1e3),
            _ => None,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} / {} / {} / {} |",
            label(p),
            fmt_num(med(p, "node_a_cpu_us_per_delivery"), 2),
            fmt_num(med(p, "node_b_cpu_us_per_delivery"), 2),
            fmt_num(med(p, "redis_cpu_us_per_message"), 1),
            fmt_num(net, 1),
            fmt_num(cross_ns, 1),
            fmt_num(med(p, "node_a_cpu_pct"), 0),
            fmt_num(med(p, "node_b_cpu_pct"), 0),
            fmt_num(med(p, "client_cpu_pct"), 0),
            fmt_num(med(p, "redis_cpu_pct"), 1),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{cluster_tables, redis_net_us_per_message, Record};

    #[test]
    fn redis_cpu_is_counted_net_of_its_idle_time() {
        let line =
            "kind=cluster pacing=rate:100 secs=5 published_per_s=100 redis_run_us=60000 redis_idle_us_per_s=2000";
        let record = Record::parse(line).unwrap();
        // 60 ms in 5 s, 10 ms of it idle, over 500 messages.
        assert_eq!(redis_net_us_per_message(&record), Some(100.0));
    }

    #[test]
    fn one_row_per_pacing_with_medians() {
        let lines = [
            "kind=cluster pacing=rate:20 published_per_s=20 local_p50_us=3000 cross_p50_us=9000",
            "kind=cluster pacing=rate:20 published_per_s=20 local_p50_us=5000 cross_p50_us=11000",
            "kind=cluster pacing=window:128 published_per_s=400 local_p50_us=50000 cross_p50_us=90000",
        ];
        let records: Vec<Record> = lines.iter().filter_map(|l| Record::parse(l)).collect();
        let mut out = String::new();
        cluster_tables(&records.iter().collect::<Vec<_>>(), &mut out);
        assert!(out.contains("| 20 messages/s | 2 | 20 | - | - | 4.0 | - | 10.0 | - |"), "{out}");
        assert!(out.contains("| window 128 | 1 | 400 |"), "{out}");
    }
}
