//! `loadgen cluster`: the load of the cross-node broadcast (issue 21). Two server nodes joined
//! to one Redis, N subscribers on each (`/sub`), one publisher on node A (`/pub`), all in this
//! process's one mio loop:
//!
//! ```text
//! loadgen cluster --addr A --addr-b B --subs N --size BYTES (--window W | --rate R)
//!                 [--warmup S] [--duration S] [--server-pid PID] [--server-b-pid PID] [--redis-pid PID]
//! ```
//!
//! Every message carries its number and its send time in its first [`STAMP_LEN`] bytes (16 hex
//! digits each; nanoseconds since this process's start, one clock for publisher and
//! subscribers), then JSON-like text up to `--size`. A subscriber checks that the k-th message it
//! receives is number k (nothing lost, nothing reordered, on either node) and records the
//! latency, from the moment the publisher queued the message to its arrival, in the histogram
//! of its node: A's subscribers are the node-local deliveries, B's the cross-node ones (each
//! message crossed Redis once to reach them).
//!
//! Pacing: `--window W` keeps W messages not yet delivered to every subscriber of both nodes
//! (a closed loop: the rate the cluster sustains); `--rate R` publishes R messages a second on
//! a fixed schedule, whatever the subscribers do (latency below saturation), and fails if
//! deliveries fall more than five seconds behind. The result line gives, per node, deliveries/s
//! and p50/p99 latency; with the pids, each node's CPU per delivery to its own subscribers and
//! Redis's CPU (utime + stime from `/proc`) per published message and per cross-node delivery.

use super::{drain_publisher, encode_frame, json_payload, Client, Totals, STALL, STAMP_LEN};
use hdrhistogram::Histogram;
use laputa_bench::{clock_ticks_per_second, cpu_ticks, cpu_times, fail, rss_kib, run_nanos, Args};
use mio::net::TcpStream;
use mio::{Events, Interest, Token};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The figures of one node's subscribers.
struct Group {
    totals: Totals,
    hist: Histogram<u64>,
}

impl Group {
    fn new() -> Self {
        Self { totals: Totals::default(), hist: Histogram::new(3).unwrap_or_else(|e| fail(e)) }
    }
}

/// Writes the message number and send time into the first [`STAMP_LEN`] bytes of `payload`.
fn stamp(payload: &mut [u8], seq: u64, nanos: u64) {
    payload[..STAMP_LEN].copy_from_slice(format!("{seq:016x}{nanos:016x}").as_bytes());
}

/// Reads back what [`stamp`] wrote.
fn read_stamp(bytes: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(bytes.get(..STAMP_LEN)?).ok()?;
    Some((u64::from_str_radix(&text[..16], 16).ok()?, u64::from_str_radix(&text[16..], 16).ok()?))
}

/// Moves the open connections of `from` into `into`'s poll and table, after its own.
fn adopt(into: &mut Client, from: Client) {
    for conn in from.conns.into_iter() {
        let Some(mut conn) = conn else { fail("a subscriber of node B was not open") };
        from.poll.registry().deregister(&mut conn.stream.tcp).unwrap_or_else(|e| fail(e));
        let token = Token(into.conns.len());
        into.poll
            .registry()
            .register(&mut conn.stream.tcp, token, Interest::READABLE | Interest::WRITABLE)
            .unwrap_or_else(|e| fail(e));
        into.conns.push(Some(conn));
    }
}

pub(super) fn cluster(args: &Args, addr: SocketAddr) {
    let addr_b: SocketAddr = args
        .value("addr-b")
        .unwrap_or_else(|| fail("cluster needs --addr-b (node B)"))
        .parse()
        .unwrap_or_else(|e| fail(format!("bad --addr-b: {e}")));
    let subs: usize = args.get("subs", 1000);
    let size: usize = args.get::<usize>("size", 1024).max(STAMP_LEN);
    let rate: Option<f64> = args.value("rate").map(|r| r.parse().unwrap_or_else(|e| fail(format!("bad --rate: {e}"))));
    let window: u64 = args.get("window", 8u64).max(1);
    let warmup = Duration::from_secs_f64(args.get("warmup", 1.0));
    let duration = Duration::from_secs_f64(args.get("duration", 3.0));
    let pid = |name: &str| -> Option<u32> { args.value(name).map(|p| p.parse().unwrap_or_else(|e| fail(e))) };
    let pids = [pid("server-pid"), pid("server-b-pid"), pid("redis-pid")];

    let mut client = Client::for_path(addr, "/sub", None);
    let opened_a = client.open(subs, args.get("concurrency", 128));
    let mut client_b = Client::for_path(addr_b, "/sub", None);
    let opened_b = client_b.open(subs, args.get("concurrency", 128));
    adopt(&mut client, client_b);
    let publisher_token = Token(2 * subs);
    let mut publisher: TcpStream = {
        let mut opener = Client::for_path(addr, "/pub", None);
        opener.open(1, 1);
        let mut conn = opener.conns[0].take().unwrap_or_else(|| fail("no publisher connection"));
        opener.poll.registry().deregister(&mut conn.stream.tcp).unwrap_or_else(|e| fail(e));
        client
            .poll
            .registry()
            .register(&mut conn.stream.tcp, publisher_token, Interest::READABLE | Interest::WRITABLE)
            .unwrap_or_else(|e| fail(e));
        conn.stream.tcp
    };
    let templates: Vec<Vec<u8>> = (0..16).map(|seed| json_payload(size, seed)).collect();
    let mut out: Vec<u8> = Vec::new();
    let mut out_off = 0;

    let origin = Instant::now();
    // Message `delivered + i` has reached `receipts[i]` subscribers (of both nodes).
    let mut receipts: VecDeque<usize> = VecDeque::new();
    let mut published = 0u64;
    let mut delivered = 0u64;
    let mut groups = [Group::new(), Group::new()];
    let mut scratch = vec![0u8; 64 << 10];
    let mut inflated = vec![0u8; 1];
    let mut events = Events::with_capacity(1024);

    let publish = |published: &mut u64, receipts: &mut VecDeque<usize>, out: &mut Vec<u8>| {
        let mut payload = templates[(*published % templates.len() as u64) as usize].clone();
        stamp(&mut payload, *published, origin.elapsed().as_nanos() as u64);
        out.extend_from_slice(&encode_frame(&payload, true, false));
        receipts.push_back(0);
        *published += 1;
    };
    let flush = |stream: &mut TcpStream, out: &mut Vec<u8>, off: &mut usize| {
        while *off < out.len() {
            match stream.write(&out[*off..]) {
                Ok(0) => fail("publisher: write returned zero"),
                Ok(n) => *off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => fail(format!("publisher: write: {e}")),
            }
        }
        out.clear();
        *off = 0;
    };

    let start = Instant::now();
    let warm_end = start + warmup;
    let end = warm_end + duration;
    // The publishing schedule of `--rate`: message k at `start + k / rate`.
    let due = |k: u64| rate.map(|r| start + Duration::from_secs_f64(k as f64 / r));
    let me = std::process::id();
    let ticks = |pid: Option<u32>| pid.map(|p| cpu_times(p).unwrap_or_else(|e| fail(e))).unwrap_or((0, 0));
    let sample = || {
        (
            pids.map(ticks),
            cpu_ticks(me).unwrap_or_else(|e| fail(e)),
            pids[2].map_or(0, |p| run_nanos(p).unwrap_or_else(|e| fail(e))),
        )
    };
    let mut measuring = false;
    let mut at_start = (0u64, 0u64, [0u64; 2], sample());
    let mut last_progress = Instant::now();
    loop {
        let now = Instant::now();
        if !measuring && now >= warm_end {
            measuring = true;
            for group in &mut groups {
                group.hist.reset();
            }
            at_start = (published, delivered, groups.each_ref().map(|g| g.totals.messages), sample());
        }
        if now >= end {
            break;
        }
        // Publish what the window or the schedule allows.
        match rate {
            None => {
                while published < delivered + window {
                    publish(&mut published, &mut receipts, &mut out);
                }
            }
            Some(r) => {
                while due(published).is_some_and(|at| at <= now) {
                    publish(&mut published, &mut receipts, &mut out);
                }
                if (published - delivered) as f64 > 5.0 * r.max(1.0) {
                    fail(format!(
                        "--rate {r}: deliveries are more than five seconds behind ({published} published, \
                         {delivered} delivered to all): above what the cluster sustains"
                    ));
                }
            }
        }
        flush(&mut publisher, &mut out, &mut out_off);
        if now - last_progress > STALL {
            let least = client.conns.iter().flatten().map(|c| c.echoed).min().unwrap_or(0);
            fail(format!(
                "no progress for {STALL:?}: {published} published, {delivered} delivered to all, \
                 the least-served subscriber has {least} (a message lost between nodes?)"
            ));
        }
        let mut timeout = (if measuring { end } else { warm_end }).saturating_duration_since(now);
        if let Some(at) = due(published) {
            timeout = timeout.min(at.saturating_duration_since(now));
        }
        if let Err(e) = client.poll.poll(&mut events, Some(timeout.min(Duration::from_secs(1)))) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            fail(e);
        }
        for event in &events {
            if event.token() == publisher_token {
                if event.is_readable() || event.is_read_closed() {
                    drain_publisher(&mut publisher, &mut scratch);
                }
                continue;
            }
            let slot = event.token().0;
            let group = &mut groups[usize::from(slot >= subs)];
            let Some(conn) = client.conns[slot].as_mut() else { continue };
            loop {
                let n = match conn.stream.tcp.read(&mut scratch) {
                    Ok(0) => fail(format!("subscriber {slot}: the server closed the connection")),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => fail(format!("subscriber {slot}: read: {e}")),
                };
                let arrived = origin.elapsed().as_nanos() as u64;
                let received = &mut conn.echoed;
                let mut bad = None;
                conn.rx
                    .feed_stamped(&scratch[..n], &mut inflated, |len, wire, head| {
                        let expected = *received;
                        match read_stamp(head) {
                            Some((seq, sent)) if seq == expected && len == size as u64 && seq >= delivered => {
                                *received += 1;
                                receipts[(seq - delivered) as usize] += 1;
                                let _ = group.hist.record(arrived.saturating_sub(sent));
                                group.totals.messages += 1;
                                group.totals.bytes += len;
                                group.totals.wire_bytes += wire;
                            }
                            other => bad = Some((expected, other.map(|(seq, _)| seq), len)),
                        }
                    })
                    .unwrap_or_else(|e| fail(format!("subscriber {slot}: {e}")));
                if let Some((expected, seq, len)) = bad {
                    fail(format!(
                        "subscriber {slot}: expected message {expected}, got {seq:?} of {len} bytes \
                         (lost or reordered between nodes?)"
                    ));
                }
                // A short read emptied the socket: the next data raises a new edge.
                if n < scratch.len() {
                    break;
                }
            }
        }
        let before = delivered;
        while receipts.front() == Some(&(2 * subs)) {
            receipts.pop_front();
            delivered += 1;
        }
        if delivered > before || rate.is_some() && published == delivered {
            last_progress = Instant::now();
        }
    }
    let (published0, delivered0, group0, (pids0, me0, redis0)) = at_start;
    let (pids1, me1, redis1) = sample();
    let rss = pids.map(|p| p.and_then(|p| rss_kib(p).ok()).unwrap_or(0));
    client.reset_all();

    let secs = duration.as_secs_f64();
    let hz = clock_ticks_per_second() as f64;
    let cpu_s = |i: usize| ((pids1[i].0 + pids1[i].1) - (pids0[i].0 + pids0[i].1)) as f64 / hz;
    let deliveries = [0, 1].map(|i| groups[i].totals.messages - group0[i]);
    let us_per = |cpu: f64, n: u64| if n > 0 { cpu * 1e6 / n as f64 } else { f64::NAN };
    let messages = published - published0;
    let mut line = format!(
        "result subs={subs} size={size} pacing={} published_per_s={:.1} messages_per_s={:.1} \
         local_deliveries_per_s={:.1} cross_deliveries_per_s={:.1} local_p50_us={:.1} local_p99_us={:.1} \
         cross_p50_us={:.1} cross_p99_us={:.1} secs={secs:.3} client_cpu_pct={:.1} open_secs={:.3}",
        match rate {
            Some(r) => format!("rate:{r}"),
            None => format!("window:{window}"),
        },
        messages as f64 / secs,
        (delivered - delivered0) as f64 / secs,
        deliveries[0] as f64 / secs,
        deliveries[1] as f64 / secs,
        groups[0].hist.value_at_quantile(0.5) as f64 / 1e3,
        groups[0].hist.value_at_quantile(0.99) as f64 / 1e3,
        groups[1].hist.value_at_quantile(0.5) as f64 / 1e3,
        groups[1].hist.value_at_quantile(0.99) as f64 / 1e3,
        (me1 - me0) as f64 / hz / secs * 100.0,
        (opened_a + opened_b).as_secs_f64(),
    );
    for (i, node) in ["a", "b"].iter().enumerate() {
        if pids[i].is_some() {
            line += &format!(
                " node_{node}_cpu_pct={:.1} node_{node}_cpu_us_per_delivery={:.3} node_{node}_rss_kib={}",
                cpu_s(i) / secs * 100.0,
                us_per(cpu_s(i), deliveries[i]),
                rss[i],
            );
        }
    }
    if pids[2].is_some() {
        line += &format!(
            " redis_cpu_pct={:.2} redis_cpu_us_per_message={:.2} redis_cpu_ns_per_cross_delivery={:.2} \
             redis_run_us={:.0} redis_run_us_per_message={:.2} redis_rss_kib={}",
            cpu_s(2) / secs * 100.0,
            us_per(cpu_s(2), messages),
            us_per(cpu_s(2), deliveries[1]) * 1e3,
            (redis1 - redis0) as f64 / 1e3,
            us_per((redis1 - redis0) as f64 / 1e9, messages),
            rss[2],
        );
    }
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::{read_stamp, stamp};

    #[test]
    fn a_stamp_reads_back() {
        let mut payload = vec![b'x'; 40];
        stamp(&mut payload, 12_345, u64::MAX - 1);
        assert_eq!(read_stamp(&payload), Some((12_345, u64::MAX - 1)));
        assert_eq!(&payload[32..], b"xxxxxxxx", "only the first 32 bytes are the stamp");
        assert_eq!(read_stamp(&payload[..31]), None, "a message shorter than a stamp has none");
    }
}
