//! Shared pieces of the laputa benchmark (`BENCHMARKS.md` at the repository root explains the
//! whole): command-line parsing, a counting global allocator that the echo servers install and
//! switch on with `--count-allocs`, and readers of `/proc` for CPU time and resident memory.
//!
//! The binaries:
//! - `loadgen`: the library-neutral load generator (raw TCP, its own handshake, pre-encoded
//!   masked frames).
//! - `echo-laputa` (laputa::tokio), `echo-laputa-smol`, `echo-laputa-async-std`,
//!   `echo-laputa-blocking`, `echo-laputa-core`, `echo-laputa-uring` (the core under io_uring),
//!   `echo-tungstenite`, `echo-fastwebsockets`,
//!   `echo-tokio-websockets`, `echo-yawc`: the echo servers. Those that support permessage-deflate
//!   (every laputa one and yawc) enable it with `--deflate`.
//! - `echo-floor`: no WebSocket server, the least CPU any echo server spends here.
//! - `broadcast-laputa` (`laputa::server`, `Sessions::broadcast`), `broadcast-tungstenite` and
//!   `broadcast-yawc` (`tokio::sync::broadcast`, one task per connection): the broadcast servers
//!   (subscribers on `/sub`, a publisher on `/pub`), run by `loadgen broadcast`. With `--redis
//!   URL --node NAME`, `broadcast-laputa` joins a `laputa::cluster::Cluster`: two such nodes
//!   under `loadgen cluster` are the cross-node broadcast of `bench-run cluster` (issue 21).
//! - `echo-laputa-tls` (laputa::tokio over `laputa::tls::TlsAcceptor`) and `echo-tungstenite-tls`
//!   (tokio-tungstenite over tokio-rustls): the wss echo servers, started with `--tls-cert FILE
//!   --tls-key FILE` (a certificate the runner makes with [`write_tls_files`]).
//! - `http-laputa` (`laputa::server` with a document root) and `http-axum` (axum with
//!   tower-http's `ServeDir`): the plain HTTP file servers of `bench-run http` (issue 20), run
//!   under `wrk`.
//! - `core-speed`: masking and UTF-8 validation throughput of the core.
//! - `bench-run`: the runner that alternates servers and prints the tables.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Largest message (and frame) every server accepts: the same limit for all, above the largest
/// payload of the matrix (1 MiB).
pub const MAX_MESSAGE: usize = 16 << 20;

/// `--key value` options and `--switch` flags, in any order.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
    switches: Vec<String>,
    /// Words that are neither options nor their values (a subcommand).
    pub positional: Vec<String>,
}

impl Args {
    /// Parses the process arguments; `switches` names the flags that take no value.
    pub fn parse(switches: &[&str]) -> Self {
        Self::parse_from(std::env::args().skip(1), switches)
    }

    /// Parses the given arguments.
    pub fn parse_from(args: impl IntoIterator<Item = String>, switches: &[&str]) -> Self {
        let mut out = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.strip_prefix("--") {
                Some(name) if switches.contains(&name) => out.switches.push(name.to_owned()),
                Some(name) => {
                    let value = args.next().unwrap_or_else(|| fail(format!("--{name} needs a value")));
                    out.values.insert(name.to_owned(), value);
                }
                None => out.positional.push(arg),
            }
        }
        out
    }

    /// The value of `--name`, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `--name` parsed, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.value(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| fail(format!("bad value for --{name}: {v}"))),
        }
    }

    /// Whether `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

/// Prints the message and exits with status 2.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

// --- Counting allocator --------------------------------------------------------------------

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting allocations (and reallocations) while switched on. Off, it
/// costs one relaxed load per allocation.
#[derive(Debug)]
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[inline]
fn count(size: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        ALLOC_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

/// Allocations (including reallocations) and bytes requested since counting was switched on.
pub fn alloc_counts() -> (u64, u64) {
    (ALLOCS.load(Ordering::Relaxed), ALLOC_BYTES.load(Ordering::Relaxed))
}

/// Switches counting on and serves the counters on `addr`: each TCP connection gets one line
/// `allocs=N bytes=M` and is closed. The serving thread itself allocates nothing per request.
pub fn serve_alloc_counts(addr: &str) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    COUNTING.store(true, Ordering::Relaxed);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let (allocs, bytes) = alloc_counts();
            let mut line = [0u8; 64];
            let mut cursor = io::Cursor::new(&mut line[..]);
            let _ = writeln!(cursor, "allocs={allocs} bytes={bytes}");
            let n = cursor.position() as usize;
            let _ = stream.write_all(&line[..n]);
        }
    });
}

/// Reads the counters a server publishes with [`serve_alloc_counts`].
pub fn fetch_alloc_counts(addr: &str) -> io::Result<(u64, u64)> {
    let mut stream = TcpStream::connect(addr)?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let field = |name: &str| -> io::Result<u64> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no {name} in {text:?}")))
    };
    Ok((field("allocs")?, field("bytes")?))
}

// --- /proc ---------------------------------------------------------------------------------

/// Clock ticks per second of `/proc/<pid>/stat` times.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// CPU time (user + system, all threads, in clock ticks) of a process, from `/proc/<pid>/stat`.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    cpu_times(pid).map(|(user, system)| user + system)
}

/// Nanoseconds on a CPU of all threads of process `pid` (the first field of each
/// `/proc/PID/task/TID/schedstat`): the time of utime + stime without their 10 ms ticks, for
/// a process as light as the cross-node benchmark's Redis, which spends only a few ticks in a
/// window.
///
/// ```
/// let me = laputa_bench::run_nanos(std::process::id()).unwrap();
/// assert!(me > 0, "this process has run");
/// ```
pub fn run_nanos(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread that ended since the listing has no file any more: it is not counted.
        let Ok(stat) = std::fs::read_to_string(task?.path().join("schedstat")) else { continue };
        total += stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(total)
}

/// User and system CPU time (all threads, in clock ticks) of a process, from
/// `/proc/<pid>/stat`: the system share is the kernel's work for the process (system calls,
/// and the TCP work done in its context), which no library can shrink much.
pub fn cpu_times(pid: u32) -> io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| io::Error::other("bad stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let num = |i: usize| -> io::Result<u64> {
        fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(|| io::Error::other("bad stat"))
    };
    Ok((num(11)?, num(12)?))
}

/// Read and write system calls made so far by a process (`syscr` and `syscw` of
/// `/proc/<pid>/io`, all threads).
pub fn syscalls(pid: u32) -> io::Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io"))?;
    let field = |name: &str| -> io::Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("no {name} in /proc/{pid}/io")))
    };
    Ok((field("syscr")?, field("syscw")?))
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS"))
}

/// Number of open file descriptors of a process (entries of `/proc/<pid>/fd`).
pub fn open_fds(pid: u32) -> io::Result<u64> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64)
}

/// Number of threads of a process.
pub fn threads(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no Threads"))
}

// --- Servers -------------------------------------------------------------------------------

/// The options every echo server takes: `--addr HOST:PORT` (default 127.0.0.1:9001),
/// `--count-allocs HOST:PORT` to count allocations and publish the counters there,
/// `--deflate` to accept permessage-deflate (servers without it refuse to start with it), and
/// for laputa's servers `--max-fragments N` (default: laputa's, 4096), which the Autobahn
/// TestSuite's cases of 4 MiB messages in 64-byte fragments need raised.
#[derive(Debug)]
pub struct ServerOptions {
    /// Where to listen.
    pub addr: String,
    /// Accept permessage-deflate offers (`--deflate`).
    pub deflate: bool,
    /// Parsed arguments, for server-specific options.
    pub args: Args,
}

impl ServerOptions {
    /// Parses the common options and starts the allocation counters if asked; `switches` names
    /// the server's own flags (`--deflate` is always one).
    pub fn from_env(switches: &[&str]) -> Self {
        let mut all = vec!["deflate"];
        all.extend_from_slice(switches);
        let args = Args::parse(&all);
        let addr = args.value("addr").unwrap_or("127.0.0.1:9001").to_owned();
        let deflate = args.switch("deflate");
        if let Some(stats) = args.value("count-allocs") {
            serve_alloc_counts(stats);
        }
        Self { addr, deflate, args }
    }

    /// For servers whose library has no permessage-deflate: exits with an error if `--deflate`
    /// was given, so that a deflate run never silently measures an uncompressed server.
    pub fn refuse_deflate(&self, server: &str) {
        if self.deflate {
            fail(format!("{server} has no permessage-deflate; leave it out of deflate runs"));
        }
    }

    /// The configuration of every laputa server: [`MAX_MESSAGE`] for messages and frames,
    /// `--max-fragments` if given, and with `--deflate` permessage-deflate with laputa's
    /// defaults (compression level 1, context takeover, 15-bit windows, messages under 64 bytes
    /// sent uncompressed).
    pub fn laputa_config(&self) -> laputa::Config {
        let mut config = laputa::Config::default();
        config.max_message_size = MAX_MESSAGE;
        config.max_frame_size = MAX_MESSAGE;
        config.max_fragments = self.args.get("max-fragments", config.max_fragments);
        if self.deflate {
            config.deflate = Some(laputa::DeflateConfig::default());
        }
        config
    }
}

// --- TLS (the wss echo column) -----------------------------------------------------------------

/// The PEM files of the wss echo column: a CA that the load generator trusts, and the servers'
/// certificate chain (for `localhost` and `127.0.0.1`, issued by the CA) and key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA's certificate (`loadgen --tls FILE`).
    pub ca: std::path::PathBuf,
    /// The server's certificate, then the CA's (`--tls-cert FILE`).
    pub chain: std::path::PathBuf,
    /// The server's private key, PKCS#8 (`--tls-key FILE`).
    pub key: std::path::PathBuf,
}

/// Makes a CA and a server certificate issued by it (ECDSA P-256 keys, rcgen's default) and
/// writes them into `dir` (created if missing): the same certificate for every server of a run.
pub fn write_tls_files(dir: &std::path::Path) -> io::Result<TlsFiles> {
    let bad = |e: rcgen::Error| io::Error::other(format!("rcgen: {e}"));
    let ca_key = rcgen::KeyPair::generate().map_err(bad)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(bad)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "laputa bench CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(bad)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().map_err(bad)?;
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(bad)?;
    let cert = params.signed_by(&key, &issuer).map_err(bad)?;
    std::fs::create_dir_all(dir)?;
    let files = TlsFiles { ca: dir.join("ca.pem"), chain: dir.join("chain.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.ca, ca_cert.pem())?;
    std::fs::write(&files.chain, cert.pem() + &ca_cert.pem())?;
    std::fs::write(&files.key, key.serialize_pem())?;
    Ok(files)
}

impl ServerOptions {
    /// The PEM files of `--tls-cert` and `--tls-key`, which a wss server needs.
    pub fn tls_files(&self) -> (String, String) {
        match (self.args.value("tls-cert"), self.args.value("tls-key")) {
            (Some(cert), Some(key)) => (cert.to_owned(), key.to_owned()),
            _ => fail("a wss server needs --tls-cert FILE and --tls-key FILE"),
        }
    }

    /// The rustls server configuration of `--tls-cert` and `--tls-key` for the peers, built as
    /// `laputa::tls::TlsAcceptor` builds its own: the ring provider, rustls' safe default
    /// protocol versions (TLS 1.3 is what the load generator gets), no client certificates,
    /// ALPN `http/1.1`, every other setting rustls' default.
    pub fn rustls_server_config(&self) -> std::sync::Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let (cert, key) = self.tls_files();
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| fail(format!("{cert}: {e}")));
        let key = PrivateKeyDer::from_pem_file(&key).unwrap_or_else(|e| fail(format!("{key}: {e}")));
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .unwrap_or_else(|e| fail(e));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        std::sync::Arc::new(config)
    }
}

/// A tokio runtime of the flavour every tokio server here uses: current-thread (the server is
/// pinned to one core), with I/O and timers.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| fail(e))
}

/// Binds a tokio listener with a deep backlog (1024), as every server here does, so that a burst
/// of connections is not dropped by a short queue.
pub fn tokio_listener(addr: &str) -> tokio::net::TcpListener {
    let listener = std_listener(addr);
    tokio::net::TcpListener::from_std(listener).unwrap_or_else(|e| fail(e))
}

/// Binds a non-blocking std listener with SO_REUSEADDR and a backlog of 1024.
pub fn std_listener(addr: &str) -> TcpListener {
    let addr: std::net::SocketAddr = addr.parse().unwrap_or_else(|e| fail(format!("bad address {addr}: {e}")));
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)
        .unwrap_or_else(|e| fail(e));
    socket.set_reuse_address(true).unwrap_or_else(|e| fail(e));
    socket.bind(&addr.into()).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    socket.listen(1024).unwrap_or_else(|e| fail(e));
    socket.set_nonblocking(true).unwrap_or_else(|e| fail(e));
    socket.into()
}

/// The echo of the async-tungstenite peers, as tokio-tungstenite's `echo-server` example (and
/// `echo-tungstenite`) writes it: the read half forwarded into the write half, with the limits
/// of every server here. Generic over the `futures-io` stream, so that one body serves the
/// smol and the async-std servers.
pub async fn async_tungstenite_echo<S>(stream: S)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    use futures_util::{future, StreamExt, TryStreamExt};
    let config = async_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let Ok(ws) = async_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    let (write, read) = ws.split();
    let _ = read.try_filter(|m| future::ready(m.is_text() || m.is_binary())).forward(write).await;
}

// --- Echo servers on laputa-core, driven by loops of their own ----------------------------

/// Where a connection of an echo server on `laputa-core` is: the handshake, the open
/// connection, or done (its handshake failed or timed out).
#[derive(Debug)]
pub enum Phase {
    /// Reading the upgrade request.
    Handshake(Box<laputa_core::handshake::ServerHandshake>),
    /// Upgraded.
    Open(Box<laputa_core::Connection>),
    /// Over.
    Done,
}

impl Phase {
    /// When the handshake or the connection wants [`handle_timeout`](Self::handle_timeout).
    pub fn deadline(&self) -> Option<std::time::Instant> {
        match self {
            Phase::Handshake(handshake) => handshake.poll_timeout(),
            Phase::Open(connection) => connection.poll_timeout(),
            Phase::Done => None,
        }
    }

    /// Advances time; a handshake that timed out is done.
    pub fn handle_timeout(&mut self, now: std::time::Instant) {
        match self {
            Phase::Handshake(handshake) => {
                if handshake.handle_timeout(now).is_err() {
                    *self = Phase::Done;
                }
            }
            Phase::Open(connection) => connection.handle_timeout(now),
            Phase::Done => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConnection};
    use std::sync::Arc;

    /// A TLS handshake in memory between a client trusting `ca` for `name` and `server`;
    /// the client's error if it refuses.
    fn handshake(ca: &std::path::Path, name: &str, server: Arc<rustls::ServerConfig>) -> Result<(), rustls::Error> {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(ca).expect("the CA's PEM")).expect("a root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut client = ClientConnection::new(Arc::new(config), name.to_owned().try_into().expect("a name"))?;
        let mut server = ServerConnection::new(server)?;
        for _ in 0..10 {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).expect("to memory");
            server.read_tls(&mut &wire[..]).expect("from memory");
            server.process_new_packets()?;
            wire.clear();
            server.write_tls(&mut wire).expect("to memory");
            client.read_tls(&mut &wire[..]).expect("from memory");
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        panic!("the handshake did not complete");
    }

    #[test]
    fn tls_files_make_a_server_the_load_generator_trusts() {
        let dir = std::env::temp_dir().join(format!("laputa-bench-tls-test-{}", std::process::id()));
        let files = write_tls_files(&dir).expect("the files");
        let file = |path: &std::path::Path| path.to_str().expect("a UTF-8 path").to_owned();
        let args = ["--tls-cert".to_owned(), file(&files.chain), "--tls-key".to_owned(), file(&files.key)];
        let options = ServerOptions { addr: String::new(), deflate: false, args: Args::parse_from(args, &[]) };
        // What the peer's server presents, and laputa's acceptor from the same files.
        let peer = options.rustls_server_config();
        let laputa = laputa::tls::TlsAcceptor::from_pem_files(&files.chain, &files.key).expect("laputa's acceptor");
        assert_eq!(peer.alpn_protocols, laputa.config().alpn_protocols);
        assert_eq!(handshake(&files.ca, "localhost", peer.clone()), Ok(()));
        assert_eq!(handshake(&files.ca, "localhost", laputa.config().clone()), Ok(()));
        // Another name is refused: the certificate is for localhost only.
        assert!(matches!(handshake(&files.ca, "example.com", peer), Err(rustls::Error::InvalidCertificate(_))));
        std::fs::remove_dir_all(&dir).expect("the temporary directory");
    }
}
