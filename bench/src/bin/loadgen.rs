//! The load generator: library-neutral, on raw TCP (one mio/epoll loop on one thread), with its
//! own minimal opening handshake and frames encoded and masked once before the run.
//!
//! ```text
//! loadgen run --addr A --conns N --size BYTES [--window W] [--warmup S] [--duration S] [--text]
//!             [--deflate] [--tls CA_PEM] [--server-pid PID] [--alloc-stats HOST:PORT]
//! loadgen idle --addr A --conns N [--concurrency C] [--deflate]   (prints `ready ...`, holds until stdin closes)
//! loadgen handshake --addr A [--concurrency C] [--duration S] [--deflate] [--server-pid PID]
//! ```
//!
//! `run`: each connection keeps `window` messages in flight (1 = closed loop: send one, wait for
//! its echo); every echo received queues the next message. After `warmup` seconds it measures
//! for `duration` seconds and prints one `result key=value ...` line: messages/s, payload MiB/s
//! (one direction), p50/p99 round trip (from the moment a message is queued to the end of its
//! echo), its own CPU use, and with `--server-pid` the server's CPU time per echoed message
//! (utime + stime of `/proc/PID/stat` at the start and end of the window), with `--alloc-stats`
//! the server's allocations per echoed message.
//!
//! `--deflate` (every mode): offers `permessage-deflate; client_no_context_takeover` and fails
//! unless the server accepts it. In `run`, each message is then a JSON-like text of `--size`
//! bytes, compressed once before the run (raw deflate, a fresh compressor per message as
//! `client_no_context_takeover` says, so one encoding serves every send) and sent as one masked
//! frame with RSV1 set. Echoes are inflated with one decompressor per connection that keeps its
//! window from message to message (the server may compress with context takeover; it is reset
//! after each message only when the server answered `server_no_context_takeover`), and their
//! decompressed length is checked. The result line then also gives the compressed size of the
//! messages sent and the mean compressed size of the echoes on the wire.
//!
//! `--tls CA_PEM` (`run`, `idle`, `handshake`; the wss echo column of issue 19): every
//! connection speaks TLS (rustls with ring, TLS 1.3, ALPN `http/1.1`) to a server named
//! `localhost` whose certificate the CA of the PEM file issued. One `rustls::ClientConnection`
//! per connection inside the same mio loop (`read_tls`, `process_new_packets`, `reader`;
//! `writer`, `write_tls`); frames, masking, windows and figures are the same as over plain TCP,
//! and the result line says `tls=1`. Reads of records are rustls' (at most about 16 KiB a read
//! system call); each batch of frames the plain client writes with one call is encrypted into
//! records of at most 16 KiB and written with `write_tls` (vectored).
//!
//! `idle`: opens N connections (C handshakes in flight at a time), prints `ready
//! handshakes_per_s=X`, and keeps them open and silent until its standard input closes.
//! `--path P` requests another path than `/` (a broadcast server's `/sub`).
//!
//! ```text
//! loadgen broadcast --addr A --subs N --size BYTES [--window W] [--warmup S] [--duration S]
//!                   [--deflate] [--server-pid PID] [--alloc-stats HOST:PORT]
//! ```
//!
//! `broadcast`: N subscribers on `/sub` and one publisher on `/pub` (the protocol of the
//! `broadcast-*` servers: each message of the publisher goes to every subscriber). The publisher
//! keeps W messages (default 8) not yet delivered to every subscriber: it sends the next one as
//! soon as the oldest has reached all N. So the server always has work and never a backlog
//! that it would have to drop or lag over. Messages are JSON-like text of `--size` bytes (up to
//! 128 distinct ones, in turn). The result line gives deliveries (messages received by
//! subscribers) per second, the server's CPU per delivery, p50/p99 delivery latency (from the
//! moment the publisher queued a message to its arrival at each subscriber: the k-th message a
//! subscriber receives is the k-th published, nothing is dropped), and the payload bytes per
//! delivery on the wire. With `--deflate` subscribers offer `permessage-deflate;
//! server_no_context_takeover` and require it answered; compressed messages are counted, not
//! inflated.
//!
//! `cluster` (issue 21): the broadcast of `broadcast` across two server nodes joined by Redis,
//! subscribers on both, the publisher on the first; latency per node from a send time carried
//! in each message. Its options are in `cluster_load.rs`.
//!
//! `handshake`: opens, upgrades and resets connections, C at a time, for `duration` seconds;
//! prints handshakes/s and the server's CPU per handshake. Connections end with a reset
//! (SO_LINGER 0) so that no TIME_WAIT state piles up on either side.
//!
//! The checked modes send messages whose every byte is known (`checked_message`: lengths 1 to
//! 300, text and binary alternately, content derived from the connection and message numbers)
//! and compare each echo with what was sent, byte for byte and in order:
//!
//! ```text
//! loadgen check --addr A --conns N [--messages M] [--window W] [--concurrency C] [--server-pid PID]
//! loadgen churn --addr A --duration S [--concurrency C] [--messages M] [--window W]
//! ```
//!
//! `check`: opens N connections and keeps all of them open; each sends M messages (W in flight)
//! and checks the echoes; then each runs the close handshake (close 1000, the server's close
//! 1000, the server's FIN). Prints one `result ...` line with the counts (sent, received,
//! mismatched, clean closes, errors) and, with `--server-pid`, the server's resident memory
//! (`rss_kib_*`) and open descriptors (`fds_*`) before connecting, with every connection open
//! and after the echoes; exits 1 unless every echo came back intact and every close was clean.
//!
//! `churn`: for S seconds, keeps C connections in flight, each opened, echoing M checked
//! messages, and ended in one of five ways in turn: the close handshake, a reset, a FIN without a
//! close frame, a reset in the middle of a frame, or a reset in the middle of the opening
//! handshake. Then lets the connections in flight finish and prints `result ...` with the counts;
//! exits 1 on any error (a wrong echo, an unexpected close, a connection that stalls).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use hdrhistogram::Histogram;
use laputa_bench::{
    clock_ticks_per_second, cpu_ticks, cpu_times, fail, fetch_alloc_counts, open_fds, rss_kib, syscalls, Args,
};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The example key of RFC 6455 section 1.3 and its accept value: the handshake is fixed.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// One masking key for every frame: the frames are encoded once.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// Largest response head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// The permessage-deflate offer of `--deflate`.
const DEFLATE_OFFER: &str = "permessage-deflate; client_no_context_takeover";
/// What a permessage-deflate sender strips from the end of each message and the receiver
/// appends back (RFC 7692 section 7.2.1).
const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Largest LZ77 window of raw deflate, as a base-2 logarithm.
const MAX_WINDOW_BITS: u8 = 15;
/// How many first bytes of each message's payload [`Rx`] keeps for its reader (`cluster`'s
/// number and send time).
const STAMP_LEN: usize = 32;

/// `cluster`: the cross-node broadcast over Redis (issue 21), in a file of its own.
#[path = "../cluster_load.rs"]
mod cluster_load;

fn main() {
    let args = Args::parse(&["text", "deflate"]);
    let mode = args.positional.first().map(String::as_str).unwrap_or("run");
    let addr: SocketAddr = args.get("addr", "127.0.0.1:9001".parse().unwrap_or_else(|e| fail(e)));
    if args.value("tls").is_some() && !matches!(mode, "run" | "idle" | "handshake") {
        fail(format!("--tls is for run, idle and handshake, not {mode}"));
    }
    match mode {
        "run" => run(&args, addr),
        "idle" => idle(&args, addr),
        "handshake" => handshake(&args, addr),
        "check" => check(&args, addr),
        "churn" => churn(&args, addr),
        "broadcast" => broadcast(&args, addr),
        "cluster" => cluster_load::cluster(&args, addr),
        other => fail(format!("unknown mode {other}: run, idle, handshake, check, churn, broadcast or cluster")),
    }
}

/// Encodes one masked client frame (FIN set) carrying `payload`; `compressed` sets RSV1, the
/// permessage-deflate bit.
fn encode_frame(payload: &[u8], text: bool, compressed: bool) -> Vec<u8> {
    encode_opcode(if compressed { 0x40 } else { 0 } | if text { 0x1 } else { 0x2 }, payload)
}

/// Encodes one masked client frame (FIN set) whose first byte's low bits are `bits` (opcode
/// and RSV bits), carrying `payload`.
fn encode_opcode(bits: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | bits);
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= 0xffff {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

/// A payload of printable ASCII (valid UTF-8, so it also serves text messages).
fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A compressible text payload of exactly `size` bytes, like a JSON feed of trades: the same
/// keys in every record, pseudo-random values (from `seed`, so every run sends the same bytes).
fn json_payload(size: usize, seed: u64) -> Vec<u8> {
    const SYMBOLS: [&str; 6] = ["BTC-USD", "ETH-USD", "SOL-USD", "EUR-USD", "AAPL", "MSFT"];
    let mut out = Vec::with_capacity(size + 256);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut next = move || {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    out.push(b'[');
    let mut id = 1_000_000 + seed * 10_000;
    while out.len() < size {
        let (a, b, c, d) = (next(), next(), next(), next());
        let record = format!(
            "{{\"id\":{id},\"type\":\"trade\",\"symbol\":\"{}\",\"price\":{}.{:02},\"qty\":{},\"side\":\"{}\",\
             \"ts\":{},\"flags\":[\"regular\",\"{}\"]}},",
            SYMBOLS[(a % SYMBOLS.len() as u64) as usize],
            10 + b % 50_000,
            c % 100,
            1 + d % 500,
            if a & 1 == 0 { "buy" } else { "sell" },
            1_764_000_000_000 + id * 37 + b % 1000,
            if c & 1 == 0 { "maker" } else { "taker" },
        );
        out.extend_from_slice(record.as_bytes());
        id += 1;
    }
    out.truncate(size);
    out
}

/// Compresses one whole message as permessage-deflate does (raw deflate with a fresh compressor,
/// synced, the trailing `00 00 ff ff` removed), with a window of at most `window_bits`.
fn deflate_message(payload: &[u8], window_bits: u8) -> Vec<u8> {
    let mut compress = Compress::new_with_window_bits(Compression::default(), false, window_bits);
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    loop {
        let consumed = compress.total_in() as usize;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        let status = compress
            .compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync)
            .unwrap_or_else(|e| fail(format!("deflate: {e}")));
        // Done once all input is in and the flush had room to finish.
        if status == Status::Ok && compress.total_in() as usize == payload.len() && out.len() < out.capacity() {
            break;
        }
    }
    match out.strip_suffix(&DEFLATE_TAIL) {
        Some(body) => body.to_vec(),
        None => fail("deflate: the synced stream does not end in 00 00 ff ff"),
    }
}

// --- Receiving echoes ----------------------------------------------------------------------

/// Follows the server's frames without copying their payloads: only lengths matter (and, for a
/// compressed message, its inflated length).
#[derive(Default)]
struct Rx {
    head: [u8; 14],
    have: usize,
    in_frame: bool,
    remaining: u64,
    fin: bool,
    opcode: u8,
    /// Payload bytes of the current message as received.
    message_len: u64,
    /// The current message has RSV1 set: it is compressed.
    compressed: bool,
    /// permessage-deflate was negotiated; `Some(reset)`, where `reset` means the server
    /// answered `server_no_context_takeover`.
    deflate: Option<bool>,
    /// Created at the first compressed message.
    inflater: Option<Inflater>,
    /// Compressed messages are counted, not inflated (`broadcast`: 10,000 decompressors of
    /// 32 KiB windows would not fit the load generator's core).
    count_only: bool,
    /// The first bytes of the current message's payload, up to [`STAMP_LEN`] (`cluster`: the
    /// sequence number and send time the publisher wrote there).
    stamp: [u8; STAMP_LEN],
}

/// One connection's decompressor for the server's messages.
struct Inflater {
    decompress: Decompress,
    /// Reset after each message (the server said `server_no_context_takeover`).
    reset_each: bool,
    /// Bytes inflated so far of the current message.
    produced: u64,
}

impl Inflater {
    fn new(reset_each: bool) -> Self {
        Self { decompress: Decompress::new_with_window_bits(false, MAX_WINDOW_BITS), reset_each, produced: 0 }
    }

    /// Inflates `data`, counting the output (written to `out` and dropped).
    fn input(&mut self, mut data: &[u8], flush: FlushDecompress, out: &mut [u8]) -> Result<(), String> {
        loop {
            let (in0, out0) = (self.decompress.total_in(), self.decompress.total_out());
            let status = self.decompress.decompress(data, out, flush).map_err(|e| format!("inflate: {e}"))?;
            let consumed = (self.decompress.total_in() - in0) as usize;
            let produced = self.decompress.total_out() - out0;
            self.produced += produced;
            data = &data[consumed..];
            if status == Status::StreamEnd {
                // The server ended its deflate stream (BFINAL); what follows starts a new one.
                self.decompress.reset(false);
                if data.is_empty() {
                    return Ok(());
                }
                continue;
            }
            if data.is_empty() && (produced as usize) < out.len() {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                return if data.is_empty() { Ok(()) } else { Err("inflate made no progress".into()) };
            }
        }
    }

    /// Ends a message: returns its inflated length.
    fn finish(&mut self, out: &mut [u8]) -> Result<u64, String> {
        self.input(&DEFLATE_TAIL, FlushDecompress::Sync, out)?;
        if self.reset_each {
            self.decompress.reset(false);
        }
        Ok(std::mem::take(&mut self.produced))
    }
}

impl Rx {
    /// Total length of the header whose first bytes are `head`, once known.
    fn head_len(head: &[u8]) -> usize {
        if head.len() < 2 {
            return 2;
        }
        let mask = if head[1] & 0x80 != 0 { 4 } else { 0 };
        let ext = match head[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + mask
    }

    /// Consumes received bytes; calls `on_message(len, wire_len)` for each complete data message
    /// (`len` inflated if the message was compressed, `wire_len` as received). `out` is scratch
    /// space for inflating.
    fn feed(&mut self, data: &[u8], out: &mut [u8], mut on_message: impl FnMut(u64, u64)) -> Result<(), String> {
        self.feed_stamped(data, out, |len, wire, _| on_message(len, wire))
    }

    /// [`feed`](Self::feed), also handing `on_message` the first [`STAMP_LEN`] bytes of the
    /// message's payload as received (fewer if the message is shorter).
    fn feed_stamped(
        &mut self,
        data: &[u8],
        out: &mut [u8],
        mut on_message: impl FnMut(u64, u64, &[u8]),
    ) -> Result<(), String> {
        let mut i = 0;
        while i < data.len() {
            if self.in_frame {
                let take = (self.remaining).min((data.len() - i) as u64);
                let chunk = &data[i..i + take as usize];
                i += take as usize;
                self.remaining -= take;
                if self.opcode < 8 {
                    let have = self.message_len as usize;
                    if have < STAMP_LEN {
                        let n = (STAMP_LEN - have).min(chunk.len());
                        self.stamp[have..have + n].copy_from_slice(&chunk[..n]);
                    }
                    self.message_len += take;
                    if self.compressed {
                        if let Some(inflater) = self.inflater.as_mut() {
                            inflater.input(chunk, FlushDecompress::None, out)?;
                        }
                    }
                }
                if self.remaining == 0 {
                    self.end_frame(out, &mut on_message)?;
                }
                continue;
            }
            self.head[self.have] = data[i];
            self.have += 1;
            i += 1;
            let need = Self::head_len(&self.head[..self.have]);
            if self.have < need {
                continue;
            }
            let h = &self.head[..need];
            self.fin = h[0] & 0x80 != 0;
            self.opcode = h[0] & 0x0f;
            self.remaining = match h[1] & 0x7f {
                126 => u16::from_be_bytes([h[2], h[3]]) as u64,
                127 => u64::from_be_bytes(h[2..10].try_into().map_err(|_| "bad header")?),
                n => n as u64,
            };
            let rsv1 = h[0] & 0x40 != 0;
            if h[0] & 0x30 != 0 || (rsv1 && (self.deflate.is_none() || self.opcode == 0 || self.opcode >= 8)) {
                return Err(format!("unexpected RSV bits in frame header {:#04x}", h[0]));
            }
            if self.opcode == 0x1 || self.opcode == 0x2 {
                self.compressed = rsv1;
                if rsv1 && self.inflater.is_none() && !self.count_only {
                    self.inflater = self.deflate.map(Inflater::new);
                }
            }
            self.have = 0;
            self.in_frame = true;
            if self.remaining == 0 {
                self.end_frame(out, &mut on_message)?;
            }
        }
        Ok(())
    }

    fn end_frame(&mut self, out: &mut [u8], on_message: &mut impl FnMut(u64, u64, &[u8])) -> Result<(), String> {
        self.in_frame = false;
        match self.opcode {
            0x8 => Err("the server sent a close frame".into()),
            0x9 | 0xa => Ok(()),
            _ if self.fin => {
                let wire = std::mem::take(&mut self.message_len);
                let len = match (self.compressed, self.inflater.as_mut()) {
                    (true, Some(inflater)) => inflater.finish(out)?,
                    _ => wire,
                };
                self.compressed = false;
                on_message(len, wire, &self.stamp[..(wire as usize).min(STAMP_LEN)]);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

// --- Connections -----------------------------------------------------------------------------

enum Phase {
    Connecting,
    /// The request is being written (`sent` bytes out), then the response read into `head`.
    Handshake {
        sent: usize,
        head: Vec<u8>,
    },
    Open,
}

/// A connection's byte stream: the socket, or TLS over it (`--tls`). Its `read` and `write`
/// behave as a non-blocking socket's do (`WouldBlock` only once the socket itself would block,
/// as the edge-triggered loop needs), with application bytes in and out.
struct Stream {
    tcp: TcpStream,
    /// `--tls`: rustls' client side, driven with `read_tls`/`process_new_packets`/`reader` and
    /// `writer`/`write_tls` on the socket.
    tls: Option<Box<ClientConnection>>,
}

impl Stream {
    /// Reads received application bytes: 0 at the end of the stream.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else { return self.tcp.read(buf) };
        loop {
            match tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Nothing decrypted is waiting: one read of records from the socket.
            if tls.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
            tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            // The handshake's answers (and any alert) go out at once; a full socket keeps them
            // for the next writable event.
            match flush_tls(tls, &mut self.tcp) {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
    }

    /// Writes application bytes: with TLS, what rustls takes (it encrypts at once and holds the
    /// records until the socket takes them; `WouldBlock` while records of earlier writes wait).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_deref_mut() else { return self.tcp.write(buf) };
        flush_tls(tls, &mut self.tcp)?;
        let n = tls.writer().write(buf)?;
        match flush_tls(tls, &mut self.tcp) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Writes the TLS records waiting for the socket (`Ok` when none are left or the socket
    /// is full; nothing to do without TLS).
    fn flush(&mut self) -> io::Result<()> {
        match self.tls.as_deref_mut().map(|tls| flush_tls(tls, &mut self.tcp)) {
            Some(Err(e)) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(()),
        }
    }
}

/// Writes rustls' records to the socket until none are left (`WouldBlock` when the socket is
/// full first).
fn flush_tls(tls: &mut ClientConnection, tcp: &mut TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        match tls.write_tls(tcp) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The TLS client configuration of `--tls CA_PEM`: rustls with ring (as laputa's), rustls' safe
/// default versions (TLS 1.3 with these servers), trusting only the CA of the PEM file, ALPN
/// `http/1.1` (as browsers offer for a WebSocket), no client certificate.
fn tls_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_pem).unwrap_or_else(|e| fail(format!("{ca_pem}: {e}")));
    for cert in certs {
        roots.add(cert.unwrap_or_else(|e| fail(format!("{ca_pem}: {e}")))).unwrap_or_else(|e| fail(e));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| fail(e))
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

struct Conn {
    stream: Stream,
    phase: Phase,
    /// Frames queued and not yet fully written; `off` bytes of the first are out.
    queued: usize,
    off: usize,
    /// Index in [`Frames`]' cycle of the first frame queued.
    next: usize,
    /// When each message in flight was queued.
    sent_at: VecDeque<Instant>,
    /// Echoes received since the measurement began.
    echoed: u64,
    rx: Rx,
}

/// What happened on a connection after an event.
enum Progress {
    Pending,
    /// The handshake just completed.
    Opened,
}

struct Client {
    poll: Poll,
    addr: SocketAddr,
    request: Vec<u8>,
    conns: Vec<Option<Conn>>,
    /// permessage-deflate is offered and required.
    deflate: bool,
    /// The smallest `client_max_window_bits` any server response asked for (15 if none did):
    /// the window our pre-compressed messages may use.
    client_window_bits: u8,
    /// `--tls`: every connection speaks TLS to a server named `localhost`.
    tls: Option<Arc<ClientConfig>>,
}

impl Client {
    fn new(addr: SocketAddr, deflate: bool) -> Self {
        Self::for_path(addr, "/", deflate.then_some(DEFLATE_OFFER))
    }

    /// A client whose connections request `path`, offering (and requiring) the
    /// permessage-deflate `offer` if given.
    fn for_path(addr: SocketAddr, path: &str, offer: Option<&str>) -> Self {
        let extensions = offer.map(|o| format!("Sec-WebSocket-Extensions: {o}\r\n")).unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extensions}\r\n"
        )
        .into_bytes();
        Self {
            poll: Poll::new().unwrap_or_else(|e| fail(e)),
            addr,
            request,
            conns: Vec::new(),
            deflate: offer.is_some(),
            client_window_bits: MAX_WINDOW_BITS,
            tls: None,
        }
    }

    /// Starts a connection in slot `slot` (growing the table as needed).
    fn connect(&mut self, slot: usize) -> io::Result<()> {
        let mut tcp = TcpStream::connect(self.addr)?;
        self.poll.registry().register(&mut tcp, Token(slot), Interest::READABLE | Interest::WRITABLE)?;
        let tls = match &self.tls {
            Some(config) => {
                let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
                Some(Box::new(ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?))
            }
            None => None,
        };
        if self.conns.len() <= slot {
            self.conns.resize_with(slot + 1, || None);
        }
        self.conns[slot] = Some(Conn {
            stream: Stream { tcp, tls },
            phase: Phase::Connecting,
            queued: 0,
            off: 0,
            next: 0,
            sent_at: VecDeque::new(),
            echoed: 0,
            rx: Rx::default(),
        });
        Ok(())
    }

    /// Advances the handshake of a connection after an event.
    fn progress_handshake(&mut self, slot: usize) -> io::Result<Progress> {
        let Some(conn) = self.conns[slot].as_mut() else { return Ok(Progress::Pending) };
        loop {
            match &mut conn.phase {
                Phase::Connecting => {
                    if let Some(e) = conn.stream.tcp.take_error()? {
                        return Err(e);
                    }
                    match conn.stream.tcp.peer_addr() {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(Progress::Pending),
                        Err(e) => return Err(e),
                    }
                    conn.stream.tcp.set_nodelay(true)?;
                    conn.phase = Phase::Handshake { sent: 0, head: Vec::with_capacity(256) };
                }
                Phase::Handshake { sent, head } => {
                    while *sent < self.request.len() {
                        match conn.stream.write(&self.request[*sent..]) {
                            Ok(n) => *sent += n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Pending),
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                    let mut buf = [0u8; 1024];
                    let n = match conn.stream.read(&mut buf) {
                        Ok(0) => return Err(io::Error::other("the server closed during the handshake")),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Pending),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    head.extend_from_slice(&buf[..n]);
                    let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                        if head.len() > MAX_HEAD {
                            return Err(io::Error::other("response head too long"));
                        }
                        continue;
                    };
                    let response = &head[..end];
                    if !response.starts_with(b"HTTP/1.1 101") || !response.windows(ACCEPT.len()).any(|w| w == ACCEPT) {
                        return Err(io::Error::other(format!(
                            "not upgraded: {}",
                            String::from_utf8_lossy(response).lines().next().unwrap_or("")
                        )));
                    }
                    if self.deflate {
                        let Some(params) = accepted_deflate(response) else {
                            return Err(io::Error::other("the server did not accept permessage-deflate"));
                        };
                        conn.rx.deflate = Some(params.server_no_context_takeover);
                        self.client_window_bits = self.client_window_bits.min(params.client_max_window_bits);
                    }
                    let rest = head[end + 4..].to_vec();
                    conn.phase = Phase::Open;
                    let mut out = vec![0u8; 16 << 10];
                    conn.rx.feed(&rest, &mut out, |_, _| {}).map_err(io::Error::other)?;
                    return Ok(Progress::Opened);
                }
                Phase::Open => return Ok(Progress::Pending),
            }
        }
    }

    /// Drops a connection with a reset, leaving no TIME_WAIT behind.
    fn reset(&mut self, slot: usize) {
        if let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) {
            let _ = socket2::SockRef::from(&conn.stream.tcp).set_linger(Some(Duration::ZERO));
            let _ = self.poll.registry().deregister(&mut conn.stream.tcp);
        }
    }

    fn reset_all(&mut self) {
        for slot in 0..self.conns.len() {
            self.reset(slot);
        }
    }

    /// Opens `n` connections, at most `concurrency` handshakes at a time; returns the time it took.
    fn open(&mut self, n: usize, concurrency: usize) -> Duration {
        let start = Instant::now();
        let mut events = Events::with_capacity(1024);
        let mut started = 0;
        let mut opened = 0;
        while started < n.min(concurrency) {
            self.connect(started).unwrap_or_else(|e| fail(format!("connect: {e}")));
            started += 1;
        }
        while opened < n {
            if let Err(e) = self.poll.poll(&mut events, Some(Duration::from_secs(10))) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                fail(e);
            }
            if events.is_empty() {
                fail(format!("no progress for 10 s with {opened} of {n} connections open"));
            }
            for event in &events {
                let slot = event.token().0;
                match self.progress_handshake(slot) {
                    Ok(Progress::Opened) => {
                        opened += 1;
                        if started < n {
                            self.connect(started).unwrap_or_else(|e| fail(format!("connect: {e}")));
                            started += 1;
                        }
                    }
                    Ok(Progress::Pending) => {}
                    Err(e) => fail(format!("connection {slot}: {e}")),
                }
            }
        }
        start.elapsed()
    }
}

/// The permessage-deflate parameters of a server's answer that matter to this client.
struct DeflateAnswer {
    server_no_context_takeover: bool,
    client_max_window_bits: u8,
}

/// The permessage-deflate parameters the response head accepted, if it accepted it.
fn accepted_deflate(head: &[u8]) -> Option<DeflateAnswer> {
    let head = String::from_utf8_lossy(head);
    let value = head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("sec-websocket-extensions").then(|| value.trim().to_ascii_lowercase())
    })?;
    // One extension was offered, so at most one comes back.
    let mut params = value.split(';').map(str::trim);
    if params.next()? != "permessage-deflate" {
        return None;
    }
    let mut answer = DeflateAnswer { server_no_context_takeover: false, client_max_window_bits: MAX_WINDOW_BITS };
    for param in params {
        let (name, value) = param.split_once('=').map(|(n, v)| (n.trim(), Some(v.trim()))).unwrap_or((param, None));
        match name {
            "server_no_context_takeover" => answer.server_no_context_takeover = true,
            "client_max_window_bits" => {
                let bits: u8 = value?.trim_matches('"').parse().ok()?;
                // zlib cannot compress raw deflate with 8 bits; 9 is what every peer does there.
                answer.client_max_window_bits = bits.clamp(9, MAX_WINDOW_BITS);
            }
            _ => {}
        }
    }
    Some(answer)
}

// --- Modes -----------------------------------------------------------------------------------

/// Counters of the measured window.
#[derive(Default, Clone, Copy)]
struct Totals {
    messages: u64,
    bytes: u64,
    /// Payload bytes of the echoes as received (compressed where they were).
    wire_bytes: u64,
}

fn run(args: &Args, addr: SocketAddr) {
    let conns: usize = args.get("conns", 1);
    let size: usize = args.get("size", 20);
    let window: usize = args.get("window", 1).max(1);
    let warmup = Duration::from_secs_f64(args.get("warmup", 1.0));
    let duration = Duration::from_secs_f64(args.get("duration", 3.0));
    let server_pid: Option<u32> = args.value("server-pid").map(|p| p.parse().unwrap_or_else(|e| fail(e)));
    let alloc_stats = args.value("alloc-stats");
    let deflate = args.switch("deflate");

    let tls = args.value("tls").is_some();
    let mut client = Client::new(addr, deflate);
    client.tls = args.value("tls").map(tls_config);
    client.open(conns, args.get("concurrency", 64));

    // Encoded once the handshakes are done: a server may have limited our deflate window.
    let (frames, sent_wire) = if deflate {
        // Distinct messages, at least 128 KiB of them (four windows), so that a server compressing
        // with context takeover does not find each whole message again in its window. One per
        // seed, each compressed on its own.
        let count = ((128 << 10) / size.max(1)).clamp(1, 128);
        let compressed: Vec<Vec<u8>> = (0..count as u64)
            .map(|seed| deflate_message(&json_payload(size, seed), client.client_window_bits))
            .collect();
        let sent_wire = compressed.iter().map(Vec::len).sum::<usize>() as f64 / count as f64;
        (compressed.iter().map(|c| encode_frame(c, true, true)).collect::<Vec<_>>(), sent_wire)
    } else {
        (vec![encode_frame(&payload(size), args.switch("text"), false)], size as f64)
    };
    let frames = Frames::new(&frames, window);

    let mut hist = Histogram::<u64>::new(3).unwrap_or_else(|e| fail(e));
    let mut total = Totals::default();
    let mut scratch = vec![0u8; 256 << 10];
    let mut inflated = vec![0u8; 64 << 10];
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    for conn in client.conns.iter_mut().flatten() {
        conn.queued = window;
        conn.sent_at.extend(std::iter::repeat_n(start, window));
        frames.flush(conn).unwrap_or_else(|e| fail(format!("write: {e}")));
    }
    let warm_end = start + warmup;
    let end = warm_end + duration;
    let mut measuring = false;
    let mut at_start = (Totals::default(), (0u64, 0u64), 0u64, (0u64, 0u64), (0u64, 0u64));
    let ticks = |pid: Option<u32>| pid.map(|p| cpu_ticks(p).unwrap_or_else(|e| fail(e))).unwrap_or(0);
    let server_ticks = || server_pid.map(|p| cpu_times(p).unwrap_or_else(|e| fail(e))).unwrap_or((0, 0));
    let allocs = || alloc_stats.map(|a| fetch_alloc_counts(a).unwrap_or_else(|e| fail(e))).unwrap_or((0, 0));
    let me = std::process::id();
    // Only read/write/readv/writev count there, not recv/send (which std's TcpStream uses): a
    // raw figure for servers that write with writev, not a comparison.
    let server_syscalls = || server_pid.and_then(|p| syscalls(p).ok()).unwrap_or((0, 0));
    loop {
        let now = Instant::now();
        if !measuring && now >= warm_end {
            measuring = true;
            hist.reset();
            for conn in client.conns.iter_mut().flatten() {
                conn.echoed = 0;
            }
            at_start = (total, server_ticks(), ticks(Some(me)), allocs(), server_syscalls());
        }
        if now >= end {
            break;
        }
        let timeout = if measuring { end - now } else { warm_end - now };
        if let Err(e) = client.poll.poll(&mut events, Some(timeout)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            fail(e);
        }
        for event in &events {
            let slot = event.token().0;
            let Some(conn) = client.conns[slot].as_mut() else { continue };
            if event.is_readable() || event.is_read_closed() {
                loop {
                    let n = match conn.stream.read(&mut scratch) {
                        Ok(0) => fail(format!("connection {slot}: the server closed the connection")),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => fail(format!("connection {slot}: read: {e}")),
                    };
                    let now = Instant::now();
                    let Conn { rx, sent_at, queued, echoed, .. } = conn;
                    let mut bad_len = None;
                    rx.feed(&scratch[..n], &mut inflated, |len, wire| {
                        if len != size as u64 {
                            bad_len = Some(len);
                        }
                        let queued_at = sent_at.pop_front().unwrap_or(now);
                        if measuring {
                            let _ = hist.record((now - queued_at).as_nanos() as u64);
                        }
                        total.messages += 1;
                        *echoed += 1;
                        total.bytes += len;
                        total.wire_bytes += wire;
                        *queued += 1;
                        sent_at.push_back(now);
                    })
                    .unwrap_or_else(|e| fail(format!("connection {slot}: {e}")));
                    if let Some(len) = bad_len {
                        fail(format!("connection {slot}: echo of {len} bytes, sent {size}"));
                    }
                }
            }
            frames.flush(conn).unwrap_or_else(|e| fail(format!("connection {slot}: write: {e}")));
        }
    }
    let elapsed = duration.as_secs_f64();
    // Round-trip times count only the echoes that came back: a server that serves one connection
    // while the others wait shows short ones. The share of the least-served connection (its
    // echoes over the mean per connection: 1 is fair, 0 is starved) shows that.
    let per_conn: Vec<u64> = client.conns.iter().flatten().map(|c| c.echoed).collect();
    let mean_per_conn = per_conn.iter().sum::<u64>() as f64 / per_conn.len().max(1) as f64;
    let least_served_share = per_conn.iter().min().map_or(f64::NAN, |&m| m as f64 / mean_per_conn);
    let (t0, server0, me0, alloc0, sys0) = at_start;
    let (server1, me1, alloc1, sys1) = (server_ticks(), ticks(Some(me)), allocs(), server_syscalls());
    client.reset_all();

    let hz = clock_ticks_per_second() as f64;
    let messages = total.messages - t0.messages;
    let bytes = total.bytes - t0.bytes;
    let per_msg = |x: f64| if messages > 0 { x / messages as f64 } else { f64::NAN };
    let mut line = format!(
        "result conns={conns} size={size} window={window} messages={messages} secs={elapsed:.3} \
         msgs_per_s={:.1} mib_per_s={:.3} p50_us={:.1} p99_us={:.1} least_served_share={least_served_share:.3} \
         client_cpu_pct={:.1}",
        messages as f64 / elapsed,
        bytes as f64 / elapsed / (1 << 20) as f64,
        hist.value_at_quantile(0.5) as f64 / 1e3,
        hist.value_at_quantile(0.99) as f64 / 1e3,
        (me1 - me0) as f64 / hz / elapsed * 100.0,
    );
    if tls {
        line += " tls=1";
    }
    if deflate {
        line += &format!(
            " deflate=1 sent_wire_bytes_per_msg={sent_wire:.1} echo_wire_bytes_per_msg={:.1}",
            per_msg((total.wire_bytes - t0.wire_bytes) as f64)
        );
    }
    if server_pid.is_some() {
        let system_s = (server1.1 - server0.1) as f64 / hz;
        let cpu_s = (server1.0 - server0.0) as f64 / hz + system_s;
        line += &format!(
            " server_cpu_pct={:.1} server_cpu_us_per_msg={:.3} server_system_us_per_msg={:.3} \
             server_reads_per_msg={:.3} server_writes_per_msg={:.3}",
            cpu_s / elapsed * 100.0,
            per_msg(cpu_s * 1e6),
            per_msg(system_s * 1e6),
            per_msg((sys1.0 - sys0.0) as f64),
            per_msg((sys1.1 - sys0.1) as f64),
        );
    }
    if alloc_stats.is_some() {
        line += &format!(
            " allocs_per_msg={:.4} alloc_bytes_per_msg={:.1}",
            per_msg((alloc1.0 - alloc0.0) as f64),
            per_msg((alloc1.1 - alloc0.1) as f64)
        );
    }
    println!("{line}");
}

/// The encoded frames a connection sends, in a cycle: one frame, or with `--deflate` several
/// distinct messages. The cycle is laid out repeatedly in one buffer, so that any run of up to
/// `batch` frames from any point of the cycle is one contiguous slice, written with one call.
struct Frames {
    buf: Vec<u8>,
    /// Start of each frame in `buf`, and the end of the last.
    starts: Vec<usize>,
    /// Frames in one cycle.
    cycle: usize,
    /// Most frames written at once.
    batch: usize,
}

impl Frames {
    /// Lays out `frames`; `window` is the most frames a connection has queued.
    fn new(frames: &[Vec<u8>], window: usize) -> Self {
        let cycle = frames.len();
        let longest = frames.iter().map(Vec::len).max().unwrap_or(1);
        // Up to `window` frames back to back (within 256 KiB), so that one write sends several.
        let batch = window.min(((256 << 10) / longest).max(1));
        let laps = 1 + batch.div_ceil(cycle);
        let mut buf = Vec::new();
        let mut starts = Vec::with_capacity(laps * cycle + 1);
        for frame in std::iter::repeat_n(frames, laps).flatten() {
            starts.push(buf.len());
            buf.extend_from_slice(frame);
        }
        starts.push(buf.len());
        Self { buf, starts, cycle, batch }
    }

    /// Writes a connection's queued frames until the socket would block.
    fn flush(&self, conn: &mut Conn) -> io::Result<()> {
        conn.stream.flush()?;
        while conn.queued > 0 {
            let from = self.starts[conn.next] + conn.off;
            let to = self.starts[conn.next + conn.queued.min(self.batch)];
            match conn.stream.write(&self.buf[from..to]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    let at = from + n;
                    while conn.queued > 0 && self.starts[conn.next + 1] <= at {
                        conn.next += 1;
                        conn.queued -= 1;
                    }
                    conn.off = at - self.starts[conn.next];
                    conn.next %= self.cycle;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The permessage-deflate offer of `broadcast --deflate`: the server must compress every message
/// without context takeover, so that one compressed frame can serve every subscriber.
const BROADCAST_DEFLATE_OFFER: &str = "permessage-deflate; server_no_context_takeover";

fn broadcast(args: &Args, addr: SocketAddr) {
    let subs: usize = args.get("subs", 1000);
    let size: usize = args.get("size", 1024);
    let window: usize = args.get("window", 8).max(1);
    let warmup = Duration::from_secs_f64(args.get("warmup", 1.0));
    let duration = Duration::from_secs_f64(args.get("duration", 3.0));
    let server_pid: Option<u32> = args.value("server-pid").map(|p| p.parse().unwrap_or_else(|e| fail(e)));
    let alloc_stats = args.value("alloc-stats");
    let deflate = args.switch("deflate");

    let mut client = Client::for_path(addr, "/sub", deflate.then_some(BROADCAST_DEFLATE_OFFER));
    let opened_in = client.open(subs, args.get("concurrency", 128));
    for conn in client.conns.iter_mut().flatten() {
        if deflate && conn.rx.deflate != Some(true) {
            fail("the server did not answer server_no_context_takeover");
        }
        conn.rx.count_only = true;
    }
    // The publisher: its own connection to /pub, then driven by the subscribers' loop.
    let publisher_token = Token(subs);
    let mut publisher = {
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
    let count = ((128 << 10) / size.max(1)).clamp(1, 128);
    let frames: Vec<Vec<u8>> =
        (0..count as u64).map(|seed| encode_frame(&json_payload(size, seed), true, false)).collect();
    let mut out: Vec<u8> = Vec::new();
    let mut out_off = 0;

    // Message `seq` is in flight while `delivered <= seq < published`: `receipts[seq % window]`
    // subscribers have it, `queued_at[seq % window]` is when the publisher queued it.
    let mut published = 0u64;
    let mut delivered = 0u64;
    let mut receipts = vec![0usize; window];
    let mut queued_at = vec![Instant::now(); window];
    let mut hist = Histogram::<u64>::new(3).unwrap_or_else(|e| fail(e));
    let mut total = Totals::default();
    let mut scratch = vec![0u8; 64 << 10];
    let mut inflated = vec![0u8; 1];
    let mut events = Events::with_capacity(1024);

    let publish = |published: &mut u64, out: &mut Vec<u8>, queued_at: &mut [Instant]| {
        out.extend_from_slice(&frames[(*published % count as u64) as usize]);
        queued_at[(*published % window as u64) as usize] = Instant::now();
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
    while published < window as u64 {
        publish(&mut published, &mut out, &mut queued_at);
    }
    flush(&mut publisher, &mut out, &mut out_off);

    let start = Instant::now();
    let warm_end = start + warmup;
    let end = warm_end + duration;
    let mut measuring = false;
    let mut at_start = (Totals::default(), 0u64, (0u64, 0u64), 0u64, (0u64, 0u64));
    let me = std::process::id();
    let server_ticks = || server_pid.map(|p| cpu_times(p).unwrap_or_else(|e| fail(e))).unwrap_or((0, 0));
    let allocs = || alloc_stats.map(|a| fetch_alloc_counts(a).unwrap_or_else(|e| fail(e))).unwrap_or((0, 0));
    let mut last_progress = Instant::now();
    loop {
        let now = Instant::now();
        if !measuring && now >= warm_end {
            measuring = true;
            hist.reset();
            at_start = (total, delivered, server_ticks(), cpu_ticks(me).unwrap_or_else(|e| fail(e)), allocs());
        }
        if now >= end {
            break;
        }
        if now - last_progress > STALL {
            let least = client.conns.iter().flatten().map(|c| c.echoed).min().unwrap_or(0);
            fail(format!(
                "no progress for {STALL:?}: {published} published, {delivered} delivered to all, \
                 the least-served subscriber has {least} (a server that dropped messages?)"
            ));
        }
        let timeout = if measuring { end - now } else { warm_end - now };
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
            let Some(conn) = client.conns[slot].as_mut() else { continue };
            let now = Instant::now();
            loop {
                let n = match conn.stream.tcp.read(&mut scratch) {
                    Ok(0) => fail(format!("subscriber {slot}: the server closed the connection")),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => fail(format!("subscriber {slot}: read: {e}")),
                };
                let Conn { rx, echoed: received, .. } = conn;
                let mut bad = None;
                rx.feed(&scratch[..n], &mut inflated, |len, wire| {
                    let seq = *received;
                    // Compressed messages are counted, not inflated: their length is not checked.
                    if seq >= published || (!deflate && len != size as u64) {
                        bad = Some((seq, len));
                        return;
                    }
                    *received += 1;
                    let at = (seq % window as u64) as usize;
                    receipts[at] += 1;
                    let _ = hist.record(now.saturating_duration_since(queued_at[at]).as_nanos() as u64);
                    total.messages += 1;
                    total.bytes += len;
                    total.wire_bytes += wire;
                })
                .unwrap_or_else(|e| fail(format!("subscriber {slot}: {e}")));
                if let Some((seq, len)) = bad {
                    fail(format!("subscriber {slot}: message {seq} of {len} bytes ({published} published of {size})"));
                }
                // A short read emptied the socket: the next data raises a new edge.
                if n < scratch.len() {
                    break;
                }
            }
        }
        let before = delivered;
        while delivered < published && receipts[(delivered % window as u64) as usize] == subs {
            receipts[(delivered % window as u64) as usize] = 0;
            delivered += 1;
        }
        if delivered > before {
            last_progress = Instant::now();
        }
        while published < delivered + window as u64 {
            publish(&mut published, &mut out, &mut queued_at);
        }
        flush(&mut publisher, &mut out, &mut out_off);
    }
    let (t0, delivered0, server0, me0, alloc0) = at_start;
    let (server1, me1, alloc1) = (server_ticks(), cpu_ticks(me).unwrap_or_else(|e| fail(e)), allocs());
    let server_rss = server_pid.and_then(|p| rss_kib(p).ok()).unwrap_or(0);
    client.reset_all();

    let elapsed = duration.as_secs_f64();
    let hz = clock_ticks_per_second() as f64;
    let deliveries = total.messages - t0.messages;
    let per = |x: f64| if deliveries > 0 { x / deliveries as f64 } else { f64::NAN };
    let mut line = format!(
        "result subs={subs} size={size} window={window} deliveries={deliveries} secs={elapsed:.3} \
         deliveries_per_s={:.1} messages_per_s={:.1} mib_per_s={:.3} p50_us={:.1} p99_us={:.1} \
         wire_bytes_per_delivery={:.1} client_cpu_pct={:.1} open_secs={:.3}",
        deliveries as f64 / elapsed,
        (delivered - delivered0) as f64 / elapsed,
        (total.bytes - t0.bytes) as f64 / elapsed / (1 << 20) as f64,
        hist.value_at_quantile(0.5) as f64 / 1e3,
        hist.value_at_quantile(0.99) as f64 / 1e3,
        per((total.wire_bytes - t0.wire_bytes) as f64),
        (me1 - me0) as f64 / hz / elapsed * 100.0,
        opened_in.as_secs_f64(),
    );
    if deflate {
        line += " deflate=1";
    }
    if server_pid.is_some() {
        let system_s = (server1.1 - server0.1) as f64 / hz;
        let cpu_s = (server1.0 - server0.0) as f64 / hz + system_s;
        line += &format!(
            " server_cpu_pct={:.1} server_cpu_us_per_delivery={:.3} server_system_us_per_delivery={:.3} \
             server_rss_kib={server_rss}",
            cpu_s / elapsed * 100.0,
            per(cpu_s * 1e6),
            per(system_s * 1e6),
        );
    }
    if alloc_stats.is_some() {
        line += &format!(
            " allocs_per_delivery={:.4} alloc_bytes_per_delivery={:.1}",
            per((alloc1.0 - alloc0.0) as f64),
            per((alloc1.1 - alloc0.1) as f64)
        );
    }
    println!("{line}");
}

fn idle(args: &Args, addr: SocketAddr) {
    let conns: usize = args.get("conns", 10_000);
    let path = args.value("path").unwrap_or("/");
    let mut client = Client::for_path(addr, path, args.switch("deflate").then_some(DEFLATE_OFFER));
    client.tls = args.value("tls").map(tls_config);
    let took = client.open(conns, args.get("concurrency", 128));
    println!(
        "ready conns={conns} secs={:.3} handshakes_per_s={:.1}",
        took.as_secs_f64(),
        conns as f64 / took.as_secs_f64()
    );
    let _ = io::stdout().flush();
    // Hold the connections, silent, until the runner closes our standard input.
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    client.reset_all();
}

fn handshake(args: &Args, addr: SocketAddr) {
    let concurrency: usize = args.get("concurrency", 32);
    let duration = Duration::from_secs_f64(args.get("duration", 3.0));
    let server_pid: Option<u32> = args.value("server-pid").map(|p| p.parse().unwrap_or_else(|e| fail(e)));
    let mut client = Client::new(addr, args.switch("deflate"));
    client.tls = args.value("tls").map(tls_config);
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    let cpu0 = server_pid.map(|p| cpu_ticks(p).unwrap_or_else(|e| fail(e)));
    for slot in 0..concurrency {
        client.connect(slot).unwrap_or_else(|e| fail(format!("connect: {e}")));
    }
    let mut done = 0u64;
    let mut errors = 0u64;
    let end = start + duration;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if let Err(e) = client.poll.poll(&mut events, Some(end - now)) {
            if e.kind() != io::ErrorKind::Interrupted {
                fail(e);
            }
        }
        for event in &events {
            let slot = event.token().0;
            let outcome = client.progress_handshake(slot);
            match outcome {
                Ok(Progress::Pending) => continue,
                Ok(Progress::Opened) => done += 1,
                Err(_) => errors += 1,
            }
            client.reset(slot);
            if let Err(e) = client.connect(slot) {
                fail(format!("connect: {e}"));
            }
        }
        if errors > 1000 && errors > done {
            fail(format!("{errors} failed handshakes, {done} done"));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu1 = server_pid.map(|p| cpu_ticks(p).unwrap_or_else(|e| fail(e)));
    client.reset_all();
    let mut line = format!(
        "result handshakes={done} errors={errors} secs={elapsed:.3} handshakes_per_s={:.1}",
        done as f64 / elapsed
    );
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        let cpu_s = (b - a) as f64 / clock_ticks_per_second() as f64;
        line += &format!(" server_cpu_us_per_handshake={:.2}", cpu_s * 1e6 / done.max(1) as f64);
    }
    println!("{line}");
}

// --- Checked echoes (modes `check` and `churn`) ----------------------------------------------

/// Message `seq` of connection `id`: whether it is text, and its payload. Deterministic, so that
/// every echo is checked byte for byte; lengths 1 to 300 cover the 7-bit and 16-bit length forms.
/// Text messages are printable ASCII, binary ones any byte.
fn checked_message(id: u64, seq: u64) -> (bool, Vec<u8>) {
    let mut x = (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seq.wrapping_mul(0xbf58_476d_1ce4_e5b9)) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = 1 + (next() % 300) as usize;
    let text = seq.is_multiple_of(2);
    let payload = (0..len)
        .map(|_| {
            let b = (next() >> 24) as u8;
            if text {
                b' ' + b % 95
            } else {
                b
            }
        })
        .collect();
    (text, payload)
}

/// What the server sent, frame by frame, payloads included.
enum Incoming {
    Message { text: bool, payload: Vec<u8> },
    Close(Option<u16>),
}

/// Reads the server's frames whole and reassembles fragmented messages.
#[derive(Default)]
struct FrameReader {
    buf: Vec<u8>,
    /// The data message being reassembled: whether it is text, and its payload so far.
    message: Option<(bool, Vec<u8>)>,
}

impl FrameReader {
    fn feed(&mut self, data: &[u8], mut on: impl FnMut(Incoming) -> Result<(), String>) -> Result<(), String> {
        let Self { buf, message } = self;
        buf.extend_from_slice(data);
        let mut at = 0;
        let result = loop {
            let rest = &buf[at..];
            if rest.len() < 2 {
                break Ok(());
            }
            if rest[1] & 0x80 != 0 {
                break Err("a masked frame from the server".into());
            }
            let (len, head) = match rest[1] & 0x7f {
                126 if rest.len() >= 4 => (u16::from_be_bytes([rest[2], rest[3]]) as u64, 4),
                127 if rest.len() >= 10 => (u64::from_be_bytes(rest[2..10].try_into().unwrap_or_default()), 10),
                126 | 127 => break Ok(()),
                n => (n as u64, 2),
            };
            if len > 1 << 20 {
                break Err(format!("a frame of {len} bytes from the server"));
            }
            let len = len as usize;
            if rest.len() < head + len {
                break Ok(());
            }
            let (b0, payload) = (rest[0], &rest[head..head + len]);
            at += head + len;
            if b0 & 0x70 != 0 {
                break Err("reserved bits set".into());
            }
            let fin = b0 & 0x80 != 0;
            let incoming = match b0 & 0x0f {
                op @ (0x1 | 0x2) if message.is_none() => {
                    let started = (op == 0x1, payload.to_vec());
                    if fin {
                        Some(started)
                    } else {
                        *message = Some(started);
                        None
                    }
                }
                0x0 if message.is_some() => {
                    if let Some((_, so_far)) = message.as_mut() {
                        so_far.extend_from_slice(payload);
                    }
                    if fin {
                        message.take()
                    } else {
                        None
                    }
                }
                0x8 => {
                    let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    if let Err(e) = on(Incoming::Close(code)) {
                        break Err(e);
                    }
                    None
                }
                0x9 | 0xa => None,
                op => break Err(format!("unexpected opcode {op:#x}")),
            };
            if let Some((text, payload)) = incoming {
                if let Err(e) = on(Incoming::Message { text, payload }) {
                    break Err(e);
                }
            }
        };
        buf.drain(..at);
        result
    }
}

/// One connection's checked exchange: `total` messages, `window` in flight, each echo compared
/// with what was sent; then, if asked, the close handshake.
struct Echo {
    id: u64,
    total: u64,
    sent: u64,
    received: u64,
    out: Vec<u8>,
    out_off: usize,
    reader: FrameReader,
    /// Our close frame is queued: the next thing expected is the server's close, then EOF.
    closing: bool,
    got_close: bool,
    eof: bool,
    /// The connection is being ended in another way (a FIN without close frame): anything the
    /// server sends, then EOF.
    ending: bool,
}

impl Echo {
    fn new(id: u64, total: u64, window: u64) -> Self {
        let mut echo = Echo {
            id,
            total,
            sent: 0,
            received: 0,
            out: Vec::new(),
            out_off: 0,
            reader: FrameReader::default(),
            closing: false,
            got_close: false,
            eof: false,
            ending: false,
        };
        while echo.sent < total.min(window.max(1)) {
            echo.queue_next();
        }
        echo
    }

    fn queue_next(&mut self) {
        let (text, payload) = checked_message(self.id, self.sent);
        self.out.extend_from_slice(&encode_frame(&payload, text, false));
        self.sent += 1;
    }

    fn echoed(&self) -> bool {
        self.received == self.total
    }

    fn start_close(&mut self) {
        self.out.extend_from_slice(&encode_opcode(0x8, &1000u16.to_be_bytes()));
        self.closing = true;
    }

    /// Reads everything the socket has; checks each echo and queues the next message.
    fn read(&mut self, stream: &mut TcpStream, scratch: &mut [u8]) -> Result<(), String> {
        loop {
            let n = match stream.read(scratch) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read: {e}")),
            };
            let Self { reader, .. } = self;
            let mut incoming = Vec::new();
            reader.feed(&scratch[..n], |frame| {
                incoming.push(frame);
                Ok(())
            })?;
            for frame in incoming {
                self.on_frame(frame)?;
            }
        }
    }

    fn on_frame(&mut self, frame: Incoming) -> Result<(), String> {
        match frame {
            Incoming::Message { text, payload } => {
                if self.received == self.sent {
                    return Err(format!("a message nobody sent ({} bytes)", payload.len()));
                }
                let (want_text, want) = checked_message(self.id, self.received);
                if (text, &payload) != (want_text, &want) {
                    return Err(format!(
                        "echo {} differs: got {} bytes (text: {text}), sent {} (text: {want_text})",
                        self.received,
                        payload.len(),
                        want.len()
                    ));
                }
                self.received += 1;
                if self.sent < self.total {
                    self.queue_next();
                }
                Ok(())
            }
            Incoming::Close(code) if self.closing && !self.got_close => {
                self.got_close = true;
                match code {
                    Some(1000) => Ok(()),
                    other => Err(format!("the server answered our close with {other:?}")),
                }
            }
            Incoming::Close(_) if self.ending => Ok(()),
            Incoming::Close(code) => Err(format!("the server closed with {code:?}")),
        }
    }

    /// Writes what is queued until the socket takes no more.
    fn flush(&mut self, stream: &mut TcpStream) -> Result<(), String> {
        while self.out_off < self.out.len() {
            match stream.write(&self.out[self.out_off..]) {
                Ok(0) => return Err("write: zero".into()),
                Ok(n) => self.out_off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write: {e}")),
            }
        }
        self.out.clear();
        self.out_off = 0;
        Ok(())
    }
}

/// The server's resident memory (KiB) and open descriptors, or zeros without a pid.
fn server_stats(pid: Option<u32>) -> (u64, u64) {
    pid.map_or((0, 0), |p| (rss_kib(p).unwrap_or_else(|e| fail(e)), open_fds(p).unwrap_or_else(|e| fail(e))))
}

/// Prints the first errors, and how many there were.
#[derive(Default)]
struct Errors {
    count: u64,
}

impl Errors {
    fn report(&mut self, slot: usize, error: impl std::fmt::Display) {
        self.count += 1;
        if self.count <= 10 {
            eprintln!("connection {slot}: {error}");
        }
    }
}

/// Waits for events; returns false when none came for 10 s (a stall).
fn wait(poll: &mut Poll, events: &mut Events, limit: Duration) -> bool {
    loop {
        match poll.poll(events, Some(limit)) {
            Ok(()) => return !events.is_empty(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => fail(e),
        }
    }
}

/// A stall: nothing happened on any connection for this long.
const STALL: Duration = Duration::from_secs(10);

fn check(args: &Args, addr: SocketAddr) {
    let conns: usize = args.get("conns", 1000);
    let messages: u64 = args.get("messages", 10);
    let window: u64 = args.get("window", 2);
    let server_pid: Option<u32> = args.value("server-pid").map(|p| p.parse().unwrap_or_else(|e| fail(e)));
    let start = Instant::now();
    let base = server_stats(server_pid);
    let mut client = Client::new(addr, false);
    let opened_in = client.open(conns, args.get("concurrency", 128));
    let open = server_stats(server_pid);

    let mut errors = Errors::default();
    let mut failed = vec![false; conns];
    let mut echoes: Vec<Echo> = (0..conns).map(|slot| Echo::new(slot as u64, messages, window)).collect();
    let mut scratch = vec![0u8; 64 << 10];
    let mut events = Events::with_capacity(1024);
    // Phase 1: every connection echoes its messages, all of them open at once.
    let mut pending = conns;
    for (slot, echo) in echoes.iter_mut().enumerate() {
        let Some(conn) = client.conns[slot].as_mut() else { continue };
        if let Err(e) = echo.flush(&mut conn.stream.tcp) {
            errors.report(slot, e);
            failed[slot] = true;
            pending -= 1;
        } else if echo.echoed() {
            pending -= 1;
        }
    }
    // Phase 2 (after phase 1): the close handshake on every connection.
    let mut closing = false;
    let mut clean_closes = 0u64;
    let mut echo_stats = (0, 0);
    loop {
        if pending == 0 {
            if closing {
                break;
            }
            echo_stats = server_stats(server_pid);
            closing = true;
            for (slot, echo) in echoes.iter_mut().enumerate() {
                let Some(conn) = client.conns[slot].as_mut().filter(|_| !failed[slot]) else { continue };
                echo.start_close();
                pending += 1;
                if let Err(e) = echo.flush(&mut conn.stream.tcp) {
                    errors.report(slot, e);
                    failed[slot] = true;
                    pending -= 1;
                }
            }
            continue;
        }
        if !wait(&mut client.poll, &mut events, STALL) {
            errors.report(usize::MAX, format!("{pending} connections stalled for {STALL:?}"));
            errors.count += pending as u64 - 1;
            break;
        }
        for event in &events {
            let slot = event.token().0;
            if failed[slot] {
                continue;
            }
            let Some(conn) = client.conns[slot].as_mut() else { continue };
            let echo = &mut echoes[slot];
            let was_done = if closing { echo.got_close && echo.eof } else { echo.echoed() };
            let result = echo.read(&mut conn.stream.tcp, &mut scratch).and_then(|()| echo.flush(&mut conn.stream.tcp));
            let result = result.and_then(|()| match (closing, echo.eof) {
                (false, true) => Err("the server closed the connection".to_owned()),
                (true, true) if !echo.got_close => Err("EOF before the server's close frame".to_owned()),
                _ => Ok(()),
            });
            match result {
                Err(e) => {
                    errors.report(slot, e);
                    failed[slot] = true;
                    if !was_done {
                        pending -= 1;
                    }
                }
                Ok(()) if was_done => {}
                Ok(()) if closing && echo.got_close && echo.eof => {
                    clean_closes += 1;
                    pending -= 1;
                    // Our FIN after the server's: the server holds no TIME_WAIT for us.
                    if let Some(mut conn) = client.conns[slot].take() {
                        let _ = client.poll.registry().deregister(&mut conn.stream.tcp);
                    }
                }
                Ok(()) if !closing && echo.echoed() => pending -= 1,
                Ok(()) => {}
            }
        }
    }
    let sent: u64 = echoes.iter().map(|e| e.sent).sum();
    let received: u64 = echoes.iter().map(|e| e.received).sum();
    client.reset_all();
    println!(
        "result conns={conns} messages_per_conn={messages} sent={sent} received={received} \
         clean_closes={clean_closes} errors={} open_secs={:.3} secs={:.3} \
         rss_kib_base={} rss_kib_open={} rss_kib_echoed={} fds_base={} fds_open={} fds_echoed={}",
        errors.count,
        opened_in.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        base.0,
        open.0,
        echo_stats.0,
        base.1,
        open.1,
        echo_stats.1,
    );
    let expected = conns as u64 * messages;
    let ok = errors.count == 0 && sent == expected && received == expected && clean_closes == conns as u64;
    std::process::exit(if ok { 0 } else { 1 });
}

/// How a churned connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The close handshake: our close, the server's close, the server's FIN, our FIN.
    Clean,
    /// A reset after the echoes.
    Reset,
    /// A FIN without a close frame after the echoes; we wait for the server's FIN.
    Fin,
    /// A reset with half a frame sent.
    ResetMidFrame,
    /// A reset with half of the upgrade request sent.
    ResetMidHandshake,
}

const ENDINGS: [Ending; 5] =
    [Ending::Clean, Ending::Reset, Ending::Fin, Ending::ResetMidFrame, Ending::ResetMidHandshake];

fn churn(args: &Args, addr: SocketAddr) {
    let duration = Duration::from_secs_f64(args.get("duration", 10.0));
    let concurrency: usize = args.get("concurrency", 16);
    let messages: u64 = args.get("messages", 4);
    let window: u64 = args.get("window", 2);
    let mut client = Client::new(addr, false);
    let mut echoes: Vec<Option<Echo>> = (0..concurrency).map(|_| None).collect();
    let mut ids = vec![0u64; concurrency];
    let mut next_id = 0u64;
    let mut done = [0u64; ENDINGS.len()];
    let mut echoed = 0u64;
    let mut errors = Errors::default();
    let mut active = 0usize;
    let mut scratch = vec![0u8; 64 << 10];
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    let end = start + duration;

    let mut open_slot = |client: &mut Client, ids: &mut [u64], slot: usize, errors: &mut Errors| -> bool {
        ids[slot] = next_id;
        next_id += 1;
        match client.connect(slot) {
            Ok(()) => true,
            Err(e) => {
                errors.report(slot, format!("connect: {e}"));
                false
            }
        }
    };
    for slot in 0..concurrency {
        if open_slot(&mut client, &mut ids, slot, &mut errors) {
            active += 1;
        }
    }
    while active > 0 {
        if !wait(&mut client.poll, &mut events, STALL) {
            errors.report(usize::MAX, format!("{active} connections stalled for {STALL:?}"));
            break;
        }
        let stopping = Instant::now() >= end;
        for event in &events {
            let slot = event.token().0;
            let ending = ENDINGS[(ids[slot] % ENDINGS.len() as u64) as usize];
            let Some(conn) = client.conns[slot].as_mut() else { continue };
            // Some(true): ended as planned; Some(false): failed; None: still going.
            let outcome = match echoes[slot].as_mut() {
                None if ending == Ending::ResetMidHandshake => match conn.stream.tcp.peer_addr() {
                    Ok(_) => {
                        let _ = conn.stream.tcp.write(&client.request[..client.request.len() / 2]);
                        client.reset(slot);
                        Some(Ok(()))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
                    Err(e) => Some(Err(format!("connect: {e}"))),
                },
                None => match client.progress_handshake(slot) {
                    Ok(Progress::Pending) => None,
                    Ok(Progress::Opened) => {
                        let mut echo = Echo::new(ids[slot], messages, window);
                        let stream = &mut client.conns[slot].as_mut().map(|c| &mut c.stream.tcp);
                        match stream.as_mut().map(|s| echo.flush(s)) {
                            Some(Err(e)) => Some(Err(e)),
                            _ => {
                                echoes[slot] = Some(echo);
                                None
                            }
                        }
                    }
                    Err(e) => Some(Err(format!("handshake: {e}"))),
                },
                Some(echo) => {
                    let mut step = || -> Result<bool, String> {
                        echo.read(&mut conn.stream.tcp, &mut scratch)?;
                        if echo.eof && !echo.closing && !echo.ending {
                            return Err("the server closed the connection".into());
                        }
                        if echo.echoed() && !echo.closing && !echo.ending {
                            match ending {
                                Ending::Clean => echo.start_close(),
                                Ending::Fin => {
                                    echo.flush(&mut conn.stream.tcp)?;
                                    conn.stream.tcp.shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
                                    echo.ending = true;
                                }
                                Ending::Reset => return Ok(true),
                                Ending::ResetMidFrame => {
                                    let frame = encode_frame(&[b'x'; 100], true, false);
                                    echo.flush(&mut conn.stream.tcp)?;
                                    let _ = conn.stream.tcp.write(&frame[..50]);
                                    return Ok(true);
                                }
                                Ending::ResetMidHandshake => return Err("unreachable".into()),
                            }
                        }
                        echo.flush(&mut conn.stream.tcp)?;
                        if echo.eof && echo.closing && !echo.got_close {
                            return Err("EOF before the server's close frame".into());
                        }
                        Ok(echo.eof)
                    };
                    match step() {
                        Ok(false) => None,
                        Ok(true) => {
                            echoed += echo.received;
                            if matches!(ending, Ending::Reset | Ending::ResetMidFrame) {
                                client.reset(slot);
                            }
                            Some(Ok(()))
                        }
                        Err(e) => Some(Err(e)),
                    }
                }
            };
            let Some(outcome) = outcome else { continue };
            match outcome {
                Ok(()) => done[ENDINGS.iter().position(|&e| e == ending).unwrap_or(0)] += 1,
                Err(e) => errors.report(slot, format!("{ending:?}: {e}")),
            }
            // Ends the connection: a FIN unless it was reset above.
            if let Some(mut conn) = client.conns[slot].take() {
                let _ = client.poll.registry().deregister(&mut conn.stream.tcp);
            }
            echoes[slot] = None;
            active -= 1;
            if !stopping && open_slot(&mut client, &mut ids, slot, &mut errors) {
                active += 1;
            }
        }
    }
    client.reset_all();
    let total: u64 = done.iter().sum();
    println!(
        "result connections={total} clean={} reset={} fin={} reset_mid_frame={} reset_mid_handshake={} \
         messages={echoed} errors={} secs={:.3}",
        done[0],
        done[1],
        done[2],
        done[3],
        done[4],
        errors.count,
        start.elapsed().as_secs_f64()
    );
    std::process::exit(if errors.count == 0 && total > 0 { 0 } else { 1 });
}

/// Reads what the server sent a broadcast's publisher: nothing but pings or a close, drained
/// and ignored; the server closing it ends the run.
fn drain_publisher(publisher: &mut TcpStream, scratch: &mut [u8]) {
    loop {
        match publisher.read(scratch) {
            Ok(0) => fail("publisher: the server closed the connection"),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => fail(format!("publisher: read: {e}")),
        }
    }
}
