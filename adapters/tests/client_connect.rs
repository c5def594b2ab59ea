//! The client connect against real peers (issue 18), on the blocking adapter and every async
//! runtime the features enable: Debian's squid as the proxy (no auth, Basic, Digest; ws:// and
//! wss:// behind it; wrong and missing passwords), a server that challenges with the core's
//! `ServerAuth` (Basic, Digest SHA-256 and MD5, preauth, credentials in the URL), redirects
//! across origins over real sockets (what each one strips and keeps), the cookie and Origin
//! round trip, and a `103 Early Hints` before the `101`.
//!
//! The servers are blocking threads (`laputa::blocking::accept_with`, or raw TCP for what
//! laputa's server never sends), so that every client family meets the same peer. A server
//! reports each upgrade request it reads, with its headers, before answering it: a test sees
//! exactly what each request carried and how many there were.
//!
//! squid: each test starts its own on a free loopback port ([`Squid`]), waits for the line that
//! says it listens (and for its port, which opens a moment later), and kills it when done. `scripts/test.sh` installs it; without it these tests
//! fail and say so. Every wait is bounded (the connect's deadline, read timeouts, the watchdog);
//! nothing asserts on time.
#![cfg(feature = "blocking")]

use laputa::blocking::Stream as _;
use laputa::core::auth::{ServerAuth, Verdict};
use laputa::core::connect::{ConnectError, RedirectError};
use laputa::http::header::{
    AUTHORIZATION, COOKIE, HOST, LOCATION, ORIGIN, PROXY_AUTHORIZATION, SET_COOKIE, WWW_AUTHENTICATE,
};
use laputa::http::{HeaderMap, HeaderValue, StatusCode};
use laputa::{Accept, ClientBuilder, Config, Error, IncomingRequest, Reject};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
mod common;
#[cfg(feature = "rustls")]
#[allow(dead_code, unreachable_pub)]
mod tls_support;

/// Bounds every connect, every read of a test server or client, and squid's start.
const WATCHDOG: Duration = Duration::from_secs(10);

/// The credentials every server and proxy of these tests knows.
const USER: &str = "pazu";
const PASSWORD: &str = "balus";

/// The Origin the clients send.
const APP_ORIGIN: &str = "https://laputa.test";

// ---- the clients: one connect, on each family ----

/// The I/O families a client can run on, as far as the features allow.
#[derive(Debug, Clone, Copy)]
enum Family {
    Blocking,
    #[cfg(feature = "tokio")]
    Tokio,
    #[cfg(feature = "smol")]
    Smol,
    #[cfg(feature = "async-std")]
    AsyncStd,
}

const FAMILIES: &[Family] = &[
    Family::Blocking,
    #[cfg(feature = "tokio")]
    Family::Tokio,
    #[cfg(feature = "smol")]
    Family::Smol,
    #[cfg(feature = "async-std")]
    Family::AsyncStd,
];

/// What a client saw of a connect that worked: the `101`, and the echo of "BALUS".
#[derive(Debug)]
struct Echoed {
    response: http::Response<()>,
    reply: Option<String>,
}

/// A builder for `url` whose connect is bounded by the watchdog.
fn builder(url: &str) -> ClientBuilder {
    ClientBuilder::new(url).expect("a valid URL").timeout(WATCHDOG)
}

/// Connects with `builder` on `family`, sends "BALUS", reads the echo and closes; the close
/// must be clean.
fn echo(family: Family, builder: &ClientBuilder) -> Result<Echoed, Error> {
    let builder = builder.clone();
    match family {
        Family::Blocking => {
            let (mut ws, response) = laputa::blocking::connect(builder)?;
            ws.get_mut().set_read_timeout(Some(WATCHDOG))?;
            ws.send("BALUS")?;
            let reply = ws.read()?.as_text().map(str::to_owned);
            ws.close()?;
            assert!(ws.closed().is_some_and(|closed| closed.clean), "{family:?}: {:?}", ws.closed());
            Ok(Echoed { response, reply })
        }
        #[cfg(feature = "tokio")]
        Family::Tokio => echo_on::<laputa::tokio::Tokio>(builder),
        #[cfg(feature = "smol")]
        Family::Smol => echo_on::<laputa::smol::Smol>(builder),
        #[cfg(feature = "async-std")]
        Family::AsyncStd => echo_on::<laputa::async_std::AsyncStd>(builder),
    }
}

/// [`echo`] on the runtime `R` (`laputa::runtime::connect`), within the watchdog.
#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
fn echo_on<R: common::Harness>(builder: ClientBuilder) -> Result<Echoed, Error> {
    R::block_on(async move {
        let run = async {
            let (mut ws, response) = laputa::runtime::connect::<R>(builder).await?;
            ws.send("BALUS").await?;
            let reply = ws.recv().await?.as_text().map(str::to_owned);
            ws.close().await?;
            assert!(ws.closed().is_some_and(|closed| closed.clean), "{:?}", ws.closed());
            Ok::<_, Error>(Echoed { response, reply })
        };
        common::timeout::<R, _>(WATCHDOG, run).await.expect("the client finished within the watchdog")
    })
}

/// Asserts that the connect on `family` worked and echoed; the `101`.
fn connects(family: Family, builder: &ClientBuilder) -> http::Response<()> {
    let echoed = echo(family, builder).unwrap_or_else(|e| panic!("{family:?}: {e} ({e:?})"));
    assert_eq!(echoed.response.status(), StatusCode::SWITCHING_PROTOCOLS, "{family:?}");
    assert_eq!(echoed.reply.as_deref(), Some("BALUS"), "{family:?}");
    echoed.response
}

/// Asserts that the connect on `family` failed; why.
fn fails(family: Family, builder: &ClientBuilder) -> Error {
    echo(family, builder).expect_err(&format!("{family:?}: the connect should fail"))
}

// ---- the servers ----

/// What a server decides about an upgrade request.
type Decide = dyn Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync;

/// What a test server saw of one upgrade request.
#[derive(Debug)]
struct Seen {
    /// The request target, as in the request line.
    target: String,
    headers: HeaderMap,
}

impl Seen {
    /// The value of a header sent once; `None` if absent (several are a failure).
    fn header(&self, name: &http::HeaderName) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next().map(|value| value.to_str().expect("a text header"));
        assert!(values.next().is_none(), "{name} sent more than once: {:?}", self.headers);
        value
    }
}

/// A WebSocket echo server on its own threads: each connection is upgraded with
/// `laputa::blocking::accept_with`, `decide` accepting or refusing it, and echoed until it ends.
/// Every request it reads is reported (see [`Seen`]) before it is answered.
struct Server {
    addr: SocketAddr,
    seen: mpsc::Receiver<Seen>,
}

impl Server {
    /// On a free loopback port.
    fn new(decide: impl Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync + 'static) -> Self {
        Self::on(TcpListener::bind("127.0.0.1:0").expect("a listener"), decide)
    }

    /// An echo server that accepts every upgrade.
    fn accepting() -> Self {
        Self::new(|_| Ok(Accept::new()))
    }

    /// On `listener`, over plain TCP.
    fn on(
        listener: TcpListener,
        decide: impl Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync + 'static,
    ) -> Self {
        Self::serve(listener, Ok, Arc::new(decide))
    }

    /// A server for wss:// and ws:// on one free loopback port (rustls' `StreamOwned` with
    /// `config`, or plain TCP), told apart by the first byte: 22 opens a TLS handshake record
    /// (RFC 8446 section 5.1, `handshake(22)`), a request line opens with a letter. Redirects
    /// between the two schemes then change the scheme alone.
    #[cfg(feature = "rustls")]
    fn tls(
        config: Arc<laputa::tls::rustls::ServerConfig>,
        decide: impl Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync + 'static,
    ) -> Self {
        use laputa::tls::rustls::{ServerConnection, StreamOwned};
        use laputa::tls::MaybeTls;
        let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
        let tls_or_plain = move |tcp: TcpStream| {
            let mut first = [0u8];
            if tcp.peek(&mut first)? == 0 || first[0] != 22 {
                return Ok(MaybeTls::Plain(tcp));
            }
            let connection = ServerConnection::new(Arc::clone(&config)).map_err(io::Error::other)?;
            let mut tls = StreamOwned::new(connection, tcp);
            while tls.conn.is_handshaking() {
                tls.conn.complete_io(&mut tls.sock)?;
            }
            Ok(MaybeTls::Tls(Box::new(tls)))
        };
        Self::serve(listener, tls_or_plain, Arc::new(decide))
    }

    fn serve<S: laputa::blocking::Stream + 'static>(
        listener: TcpListener,
        wrap: impl Fn(TcpStream) -> io::Result<S> + Send + Sync + 'static,
        decide: Arc<Decide>,
    ) -> Self {
        let addr = listener.local_addr().expect("its address");
        let (report, seen) = mpsc::channel();
        let wrap = Arc::new(wrap);
        thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let (wrap, decide, report) = (Arc::clone(&wrap), Arc::clone(&decide), report.clone());
                thread::spawn(move || {
                    // Bounds every read of the upgrade and of the echo: a connection the client
                    // left is let go.
                    let _ = tcp.set_read_timeout(Some(WATCHDOG));
                    let Ok(stream) = wrap(tcp) else { return };
                    let accepted = laputa::blocking::accept_with(stream, Config::default(), |request| {
                        let target = request.request().uri().to_string();
                        let _ = report.send(Seen { target, headers: request.headers().clone() });
                        decide(request)
                    });
                    if let Ok(mut ws) = accepted {
                        while let Ok(message) = ws.read() {
                            if ws.send(message).is_err() {
                                break;
                            }
                        }
                    }
                });
            }
        });
        Self { addr, seen }
    }

    /// `ws://` URL of `path` on this server.
    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The next request the server read.
    fn next(&self) -> Seen {
        self.seen.recv_timeout(WATCHDOG).expect("a request within the watchdog")
    }

    /// Asserts that the server read no request but those taken with [`next`](Self::next).
    /// Each is reported before it is answered, so every request of a connect that ended is
    /// already here.
    fn assert_no_more(&self) {
        if let Ok(seen) = self.seen.try_recv() {
            panic!("one request too many: {seen:?}");
        }
    }
}

/// Seconds since the Unix epoch: the clock of the Digest nonces.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The challenges a server sends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Challenge {
    Basic,
    /// Digest, SHA-256 then MD5 (the order of RFC 7616 section 3.7's example).
    Digest,
    /// Digest with MD5 only, as older servers offer.
    DigestMd5,
}

/// A server's decision that lets in `USER` with `PASSWORD`, verified by the core's
/// [`ServerAuth`]; `401` with `challenge` otherwise.
fn authenticating(challenge: Challenge) -> impl Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync {
    let auth = match challenge {
        Challenge::Basic => ServerAuth::basic("laputa"),
        Challenge::Digest | Challenge::DigestMd5 => ServerAuth::digest("laputa", &[7; 32]),
    };
    move |request| {
        let now = unix_now();
        let target = request.request().uri().path_and_query().map_or("/", |target| target.as_str());
        let known = |user: &str| (user == USER).then(|| PASSWORD.to_owned());
        match auth.verify(request.headers(), request.request().method(), target, now, known) {
            Verdict::Authenticated { .. } => Ok(Accept::new()),
            Verdict::Challenge { stale } => {
                let offered = auth.challenge(now, stale).into_iter().filter(|value| {
                    challenge != Challenge::DigestMd5 || value.to_str().is_ok_and(|v| v.contains("algorithm=MD5"))
                });
                Err(offered.fold(Reject::new(StatusCode::UNAUTHORIZED), |reject, value| {
                    reject.header(WWW_AUTHENTICATE, value)
                }))
            }
            _ => Err(Reject::new(StatusCode::BAD_REQUEST)),
        }
    }
}

/// A decision that redirects every request with `status` to `location`.
fn redirecting(
    status: StatusCode,
    location: &str,
) -> impl Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync {
    let location = HeaderValue::from_str(location).expect("a valid Location");
    move |_| Err(Reject::new(status).header(LOCATION, location.clone()))
}

// ---- squid ----

/// How squid asks for proxy credentials.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ProxyAuth {
    None,
    /// `basic_ncsa_auth`, with an htpasswd file (`openssl passwd -apr1`).
    Basic,
    /// `digest_file_auth`, with a plain `user:password` file; it challenges with `qop="auth"`.
    Digest,
}

/// A squid of its own for one test, on a free loopback port: `squid -N` (in the foreground) with
/// a minimal configuration in a temporary directory, which allows `CONNECT` to any port of
/// 127.0.0.1 (the default configuration allows 443 only) and nothing else. Killed when dropped:
/// nothing of it is needed afterwards, and a graceful stop would wait for `shutdown_lifetime`.
struct Squid {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    /// Its service name, which its shared memory segments (`/dev/shm/SERVICE-*`) start with.
    service: String,
}

/// Where Debian puts squid's authentication helpers.
const HELPERS: &str = "/usr/lib/squid";

/// Told when squid is missing: these tests fail rather than pass without a proxy.
const INSTALL: &str = "run scripts/test.sh, which installs it (apt-get install squid)";

impl Squid {
    fn start(auth: ProxyAuth) -> Self {
        static DIRS: AtomicUsize = AtomicUsize::new(0);
        let binary = squid_binary();
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("laputa-squid-{}-{n}", std::process::id()));
        // squid names its shared memory segments after its service name: squids of the same
        // name running at once (parallel tests) collide ("shm_open ... File exists").
        let service = format!("laputa{}x{n}", std::process::id());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("squid's directory");
        // squid drops to the user `proxy` when started as root: its files must be its to write.
        set_mode(&dir, 0o777);
        let passwords = dir.join("passwords");
        let program = match auth {
            ProxyAuth::None => None,
            ProxyAuth::Basic => Some(("basic", "basic_ncsa_auth", format!("{USER}:{}\n", apr1(PASSWORD)))),
            ProxyAuth::Digest => Some(("digest", "digest_file_auth", format!("{USER}:{PASSWORD}\n"))),
        };
        let access = match program {
            None => "http_access allow localhost_dst\n".to_owned(),
            Some((scheme, helper, lines)) => {
                std::fs::write(&passwords, lines).expect("the password file");
                set_mode(&passwords, 0o644);
                let helper = Path::new(HELPERS).join(helper);
                assert!(helper.is_file(), "{} is missing: {INSTALL}", helper.display());
                format!(
                    "auth_param {scheme} program {} {}\nauth_param {scheme} realm laputa\n\
                     acl authed proxy_auth REQUIRED\nhttp_access allow authed\n",
                    helper.display(),
                    passwords.display()
                )
            }
        };
        // The port is free when asked for, and taken by someone else only rarely before squid
        // binds it: then squid says so, and another is tried.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
            let config = dir.join("squid.conf");
            let d = dir.display();
            std::fs::write(
                &config,
                format!(
                    "http_port 127.0.0.1:{port}\nvisible_hostname laputa-test\npid_filename {d}/squid.pid\n\
                     cache_log {d}/cache.log\naccess_log stdio:{d}/access.log\ncoredump_dir {d}\n\
                     pinger_enable off\ncache deny all\ncache_mem 8 MB\n\
                     acl localhost_dst dst 127.0.0.1\nhttp_access deny !localhost_dst\n{access}\
                     http_access deny all\n"
                ),
            )
            .expect("squid.conf");
            match launch(&binary, &service, &config) {
                Ok(child) => {
                    let squid = Self { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), dir, service };
                    squid.wait_listening();
                    return squid;
                }
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("squid did not start:\n{log}"),
            }
        }
        panic!("squid found no free port in three tries");
    }

    /// Waits until the port takes connections. squid logs "Accepting HTTP Socket connections"
    /// when it starts the job that listens, a moment before its `listen()`: a connect right after
    /// the line may be refused. So: connects, up to 1,000 times a millisecond apart (it takes
    /// none or a few).
    fn wait_listening(&self) {
        for _ in 0..1000 {
            if TcpStream::connect(self.addr).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
        panic!("squid said it listens on {}, and refuses connections there", self.addr);
    }

    /// `http://127.0.0.1:port`.
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://user:password@127.0.0.1:port`.
    fn url_with(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}", self.addr)
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        // Killed, squid leaves its shared memory segments behind.
        let prefix = format!("{}-", self.service);
        for entry in std::fs::read_dir("/dev/shm").into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// squid from `PATH`, or from `/usr/sbin`, which a user's `PATH` may lack.
fn squid_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("squid"))
        .find(|binary| binary.is_file())
        .unwrap_or_else(|| panic!("squid is not installed: {INSTALL}"))
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// An htpasswd line's hash, as `basic_ncsa_auth` reads it.
fn apr1(password: &str) -> String {
    let output = Command::new("openssl")
        .args(["passwd", "-apr1", password])
        .output()
        .expect("openssl, to write squid's Basic password file");
    assert!(output.status.success(), "openssl passwd: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("a hash").trim().to_owned()
}

/// Starts squid with `config` and waits for the line saying it accepts connections (`-d 1`
/// copies its log to stderr); its log if it exits first.
fn launch(binary: &Path, service: &str, config: &Path) -> Result<Child, String> {
    let mut child = Command::new(binary)
        .args(["-N", "-n", service, "-d", "1", "-f"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("squid could not run ({e}): {INSTALL}"));
    let stderr = child.stderr.take().expect("squid's stderr");
    let (line, lines) = mpsc::channel();
    // Reads squid's stderr to its end, so that squid never waits on a full pipe.
    thread::spawn(move || {
        for text in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = line.send(text);
        }
    });
    let deadline = Instant::now() + WATCHDOG;
    let mut log = String::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(text) if text.contains("Accepting HTTP Socket connections") => return Ok(child),
            Ok(text) => {
                log.push_str(&text);
                log.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                return Err(log);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("squid did not listen within {WATCHDOG:?}:\n{log}");
            }
        }
    }
}

/// Asserts that squid refused the tunnel with `407`, and says so in the error's text.
fn assert_proxy_refused(family: Family, error: &Error) {
    let Error::Proxy(response) = error else { panic!("{family:?}: not the proxy's refusal: {error:?}") };
    assert_eq!(response.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED, "{family:?}");
    assert_eq!(error.http_status(), Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED), "{family:?}");
    assert_eq!(error.to_string(), "proxy refused the tunnel: 407 Proxy Authentication Required", "{family:?}");
}

/// Asserts that a request that came through the tunnel was the client's upgrade for `server`,
/// and carried nothing meant for the proxy (RFC 9110 section 11.7.2: Proxy-Authorization is
/// for "the next inbound proxy" only).
fn assert_nothing_for_the_proxy(family: Family, seen: &Seen, server: SocketAddr) {
    assert_eq!(seen.header(&PROXY_AUTHORIZATION), None, "{family:?}: {seen:?}");
    assert_eq!(seen.header(&HOST), Some(server.to_string().as_str()), "{family:?}");
}

#[test]
fn ws_through_squid_without_auth() {
    let squid = Squid::start(ProxyAuth::None);
    let server = Server::accepting();
    let builder = builder(&server.url("/castle")).proxy(&squid.url()).unwrap();
    for &family in FAMILIES {
        connects(family, &builder);
        let seen = server.next();
        assert_eq!(seen.target, "/castle", "{family:?}");
        assert_nothing_for_the_proxy(family, &seen, server.addr);
        server.assert_no_more();
    }
}

#[test]
fn ws_through_squid_with_basic_credentials_in_the_url_or_given_apart() {
    let squid = Squid::start(ProxyAuth::Basic);
    let server = Server::accepting();
    let in_url = builder(&server.url("/")).proxy(&squid.url_with(USER, PASSWORD)).unwrap();
    let apart = builder(&server.url("/")).proxy(&squid.url()).unwrap().proxy_credentials(USER, PASSWORD);
    for &family in FAMILIES {
        for builder in [&in_url, &apart] {
            connects(family, builder);
            assert_nothing_for_the_proxy(family, &server.next(), server.addr);
            server.assert_no_more();
        }
    }
}

#[test]
fn ws_through_squid_with_digest() {
    let squid = Squid::start(ProxyAuth::Digest);
    let server = Server::accepting();
    let builder = builder(&server.url("/")).proxy(&squid.url()).unwrap().proxy_credentials(USER, PASSWORD);
    for &family in FAMILIES {
        connects(family, &builder);
        assert_nothing_for_the_proxy(family, &server.next(), server.addr);
        server.assert_no_more();
    }
}

#[cfg(feature = "rustls")]
#[test]
fn wss_through_squid_without_auth_and_with_digest() {
    let pki = tls_support::Pki::new();
    let server = Server::tls(tls_support::server_config(&pki.leaf, None), |_| Ok(Accept::new()));
    let url = format!("wss://127.0.0.1:{}/", server.addr.port());
    for auth in [ProxyAuth::None, ProxyAuth::Digest] {
        let squid = Squid::start(auth);
        let builder = builder(&url).tls(pki.connector()).proxy(&squid.url()).unwrap();
        let builder = match auth {
            ProxyAuth::None => builder,
            _ => builder.proxy_credentials(USER, PASSWORD),
        };
        for &family in FAMILIES {
            connects(family, &builder);
            assert_nothing_for_the_proxy(family, &server.next(), server.addr);
            server.assert_no_more();
        }
    }
}

#[test]
fn a_wrong_proxy_password_fails_with_407() {
    for auth in [ProxyAuth::Basic, ProxyAuth::Digest] {
        let squid = Squid::start(auth);
        let server = Server::accepting();
        let builder = builder(&server.url("/")).proxy(&squid.url_with(USER, "muska")).unwrap();
        for &family in FAMILIES {
            assert_proxy_refused(family, &fails(family, &builder));
            server.assert_no_more();
        }
    }
}

#[test]
fn no_proxy_credentials_fail_with_407() {
    for auth in [ProxyAuth::Basic, ProxyAuth::Digest] {
        let squid = Squid::start(auth);
        let server = Server::accepting();
        let builder = builder(&server.url("/")).proxy(&squid.url()).unwrap();
        for &family in FAMILIES {
            let error = fails(family, &builder);
            assert_proxy_refused(family, &error);
            let Error::Proxy(response) = &error else { unreachable!() };
            let scheme = if auth == ProxyAuth::Basic { "Basic" } else { "Digest" };
            let challenge = response.headers()[http::header::PROXY_AUTHENTICATE].to_str().unwrap();
            assert!(challenge.starts_with(scheme), "{family:?}: {challenge}");
            server.assert_no_more();
        }
    }
}

// ---- a server that challenges ----

/// The `Authorization` of a request, which must be there.
fn authorization(seen: &Seen) -> &str {
    seen.header(&AUTHORIZATION).unwrap_or_else(|| panic!("no Authorization: {seen:?}"))
}

#[test]
fn basic_with_the_right_password_answers_the_401() {
    let server = Server::new(authenticating(Challenge::Basic));
    let builder = builder(&server.url("/castle")).credentials(USER, PASSWORD, false);
    for &family in FAMILIES {
        connects(family, &builder);
        assert_eq!(server.next().header(&AUTHORIZATION), None, "{family:?}: not before the 401");
        // "pazu:balus" in base64.
        assert_eq!(authorization(&server.next()), "Basic cGF6dTpiYWx1cw==", "{family:?}");
        server.assert_no_more();
    }
}

#[test]
fn digest_with_the_right_password_answers_the_401_with_sha256_or_md5() {
    for (challenge, algorithm) in [(Challenge::Digest, "algorithm=SHA-256"), (Challenge::DigestMd5, "algorithm=MD5")] {
        let server = Server::new(authenticating(challenge));
        let builder = builder(&server.url("/castle?room=1")).credentials(USER, PASSWORD, false);
        for &family in FAMILIES {
            connects(family, &builder);
            assert_eq!(server.next().header(&AUTHORIZATION), None, "{family:?}");
            let answer = server.next();
            let answer = authorization(&answer);
            assert!(answer.starts_with("Digest "), "{family:?}: {answer}");
            assert!(answer.contains(algorithm), "{family:?}: {answer}");
            assert!(answer.contains(r#"uri="/castle?room=1""#), "{family:?}: {answer}");
            server.assert_no_more();
        }
    }
}

#[test]
fn a_wrong_password_fails_with_the_servers_401() {
    for challenge in [Challenge::Basic, Challenge::Digest] {
        let server = Server::new(authenticating(challenge));
        let builder = builder(&server.url("/")).credentials(USER, "muska", false);
        for &family in FAMILIES {
            let error = fails(family, &builder);
            let Error::Http(response) = &error else { panic!("{family:?}: not the server's answer: {error:?}") };
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{family:?}");
            assert!(response.headers().contains_key(WWW_AUTHENTICATE), "{family:?}");
            assert_eq!(error.http_status(), Some(StatusCode::UNAUTHORIZED), "{family:?}");
            // The first request, then one answer to the challenge: no more.
            assert_eq!(server.next().header(&AUTHORIZATION), None, "{family:?}");
            authorization(&server.next());
            server.assert_no_more();
        }
    }
}

#[test]
fn without_credentials_a_401_is_the_answer() {
    let server = Server::new(authenticating(Challenge::Digest));
    let builder = builder(&server.url("/"));
    for &family in FAMILIES {
        assert_eq!(fails(family, &builder).http_status(), Some(StatusCode::UNAUTHORIZED), "{family:?}");
        assert_eq!(server.next().header(&AUTHORIZATION), None, "{family:?}");
        server.assert_no_more();
    }
}

#[test]
fn preauth_sends_basic_with_the_first_request() {
    // A Basic server lets it in at once; a Digest server refuses Basic and gets its answer.
    for (challenge, requests) in [(Challenge::Basic, 1), (Challenge::Digest, 2)] {
        let server = Server::new(authenticating(challenge));
        let builder = builder(&server.url("/")).credentials(USER, PASSWORD, true);
        for &family in FAMILIES {
            connects(family, &builder);
            assert_eq!(authorization(&server.next()), "Basic cGF6dTpiYWx1cw==", "{family:?}: {challenge:?}");
            if requests == 2 {
                let answer = server.next();
                assert!(authorization(&answer).starts_with("Digest "), "{family:?}: {answer:?}");
            }
            server.assert_no_more();
        }
    }
}

#[test]
fn credentials_in_the_url_answer_the_401() {
    for challenge in [Challenge::Basic, Challenge::Digest] {
        let server = Server::new(authenticating(challenge));
        let builder = builder(&format!("ws://{USER}:{PASSWORD}@{}/", server.addr));
        for &family in FAMILIES {
            connects(family, &builder);
            let first = server.next();
            assert_eq!(first.header(&AUTHORIZATION), None, "{family:?}");
            // The credentials are not in the Host header.
            assert_eq!(first.header(&HOST), Some(server.addr.to_string().as_str()), "{family:?}");
            authorization(&server.next());
            server.assert_no_more();
        }
    }
}

// ---- redirects ----

/// The `name=value` pairs of a request's `Cookie` headers, sorted.
fn cookies(seen: &Seen) -> Vec<&str> {
    let values = seen.headers.get_all(COOKIE).iter().map(|value| value.to_str().expect("a text cookie"));
    let mut pairs: Vec<&str> = values.flat_map(|value| value.split(';')).map(str::trim).collect();
    pairs.sort_unstable();
    pairs
}

#[test]
fn a_redirect_to_another_port_drops_credentials_and_the_applications_cookie() {
    let to = Server::accepting();
    let from = Server::new(redirecting(StatusCode::FOUND, &to.url("/to")));
    let builder = builder(&from.url("/from"))
        .origin(APP_ORIGIN)
        .credentials(USER, PASSWORD, true)
        .header(COOKIE, HeaderValue::from_static("app=1"))
        .cookie("jar", "1")
        .follow_redirects(5);
    for &family in FAMILIES {
        connects(family, &builder);
        let first = from.next();
        assert_eq!(authorization(&first), "Basic cGF6dTpiYWx1cw==", "{family:?}");
        assert_eq!(cookies(&first), ["app=1", "jar=1"], "{family:?}");
        assert_eq!(first.header(&ORIGIN), Some(APP_ORIGIN), "{family:?}");
        let second = to.next();
        assert_eq!(second.target, "/to", "{family:?}");
        assert_eq!(second.header(&AUTHORIZATION), None, "{family:?}: {second:?}");
        // The jar's cookie is for the host, whatever the port (RFC 6265 section 8.5: "Cookies
        // do not provide isolation by port"); the application's own header is not.
        assert_eq!(cookies(&second), ["jar=1"], "{family:?}");
        assert_eq!(second.header(&ORIGIN), Some(APP_ORIGIN), "{family:?}: the Origin is the page's");
        from.assert_no_more();
        to.assert_no_more();
    }
}

#[test]
fn a_redirect_to_another_host_drops_credentials_and_every_cookie() {
    // The same port on two loopback addresses: only the host differs.
    let to = Server::accepting();
    let from = Server::on(
        TcpListener::bind(("127.0.0.2", to.addr.port())).expect("127.0.0.2 on the same port"),
        redirecting(StatusCode::TEMPORARY_REDIRECT, &to.url("/to")),
    );
    let builder = builder(&format!("ws://{}/from", from.addr))
        .origin(APP_ORIGIN)
        .header(AUTHORIZATION, HeaderValue::from_static("Bearer castle"))
        .header(PROXY_AUTHORIZATION, HeaderValue::from_static("Basic cGF6dTpiYWx1cw=="))
        .header(COOKIE, HeaderValue::from_static("app=1"))
        .cookie("jar", "1")
        .follow_redirects(5);
    for &family in FAMILIES {
        connects(family, &builder);
        let first = from.next();
        assert_eq!(authorization(&first), "Bearer castle", "{family:?}");
        assert_eq!(cookies(&first), ["app=1", "jar=1"], "{family:?}");
        // Proxy credentials go to no server, proxy or not.
        assert_eq!(first.header(&PROXY_AUTHORIZATION), None, "{family:?}");
        let second = to.next();
        assert_eq!(second.header(&AUTHORIZATION), None, "{family:?}: {second:?}");
        assert_eq!(second.header(&PROXY_AUTHORIZATION), None, "{family:?}");
        assert_eq!(cookies(&second), Vec::<&str>::new(), "{family:?}");
        assert_eq!(second.header(&ORIGIN), Some(APP_ORIGIN), "{family:?}");
        from.assert_no_more();
        to.assert_no_more();
    }
}

#[cfg(feature = "rustls")]
#[test]
fn a_redirect_to_another_scheme_drops_credentials_and_the_applications_cookie() {
    // ws:// and wss:// on one port: only the scheme differs.
    let pki = tls_support::Pki::new();
    let server = Server::tls(tls_support::server_config(&pki.leaf, None), |request| match request.path() {
        "/from" => {
            let location = format!("wss://{}/to", request.headers()[HOST].to_str().expect("a text Host"));
            let location = HeaderValue::from_str(&location).expect("a valid Location");
            Err(Reject::new(StatusCode::FOUND).header(LOCATION, location))
        }
        _ => Ok(Accept::new()),
    });
    let builder = builder(&server.url("/from"))
        .tls(pki.connector())
        .origin(APP_ORIGIN)
        .credentials(USER, PASSWORD, true)
        .header(COOKIE, HeaderValue::from_static("app=1"))
        .follow_redirects(5);
    for &family in FAMILIES {
        connects(family, &builder);
        let first = server.next();
        assert_eq!(first.target, "/from", "{family:?}");
        assert_eq!(authorization(&first), "Basic cGF6dTpiYWx1cw==", "{family:?}");
        assert_eq!(cookies(&first), ["app=1"], "{family:?}");
        let second = server.next();
        assert_eq!(second.target, "/to", "{family:?}");
        assert_eq!(second.header(&AUTHORIZATION), None, "{family:?}: {second:?}");
        assert_eq!(cookies(&second), Vec::<&str>::new(), "{family:?}");
        assert_eq!(second.header(&ORIGIN), Some(APP_ORIGIN), "{family:?}");
        server.assert_no_more();
    }
}

#[test]
fn credentials_do_not_answer_the_401_of_another_origin() {
    let to = Server::new(authenticating(Challenge::Basic));
    let from = Server::new(redirecting(StatusCode::FOUND, &to.url("/to")));
    let given = builder(&from.url("/from")).credentials(USER, PASSWORD, false).follow_redirects(5);
    let in_url = builder(&format!("ws://{USER}:{PASSWORD}@{}/from", from.addr)).follow_redirects(5);
    for &family in FAMILIES {
        for builder in [&given, &in_url] {
            let error = fails(family, builder);
            assert_eq!(error.http_status(), Some(StatusCode::UNAUTHORIZED), "{family:?}: {error:?}");
            from.next();
            assert_eq!(to.next().header(&AUTHORIZATION), None, "{family:?}");
            // No second request: there were no credentials to answer with.
            from.assert_no_more();
            to.assert_no_more();
        }
    }
}

#[test]
fn a_redirect_within_the_origin_keeps_credentials_and_cookies() {
    let server = Server::new(|request| match request.path() {
        "/from" => Err(Reject::new(StatusCode::TEMPORARY_REDIRECT).header(LOCATION, HeaderValue::from_static("to"))),
        _ => Ok(Accept::new()),
    });
    let builder = builder(&server.url("/from"))
        .origin(APP_ORIGIN)
        .credentials(USER, PASSWORD, true)
        .header(COOKIE, HeaderValue::from_static("app=1"))
        .follow_redirects(5);
    for &family in FAMILIES {
        connects(family, &builder);
        for target in ["/from", "/to"] {
            let seen = server.next();
            assert_eq!(seen.target, target, "{family:?}");
            assert_eq!(authorization(&seen), "Basic cGF6dTpiYWx1cw==", "{family:?}");
            assert_eq!(cookies(&seen), ["app=1"], "{family:?}");
            assert_eq!(seen.header(&ORIGIN), Some(APP_ORIGIN), "{family:?}");
        }
        server.assert_no_more();
    }
}

#[test]
fn without_follow_redirects_a_redirect_is_the_answer() {
    let to = Server::accepting();
    let from = Server::new(redirecting(StatusCode::FOUND, &to.url("/to")));
    let builder = builder(&from.url("/from"));
    for &family in FAMILIES {
        let error = fails(family, &builder);
        let Error::Http(response) = &error else { panic!("{family:?}: not the server's answer: {error:?}") };
        assert_eq!(response.status(), StatusCode::FOUND, "{family:?}");
        assert_eq!(response.headers()[LOCATION], to.url("/to"), "{family:?}");
        from.next();
        from.assert_no_more();
        to.assert_no_more();
    }
}

#[test]
fn redirects_stop_at_the_maximum() {
    let server = Server::new(redirecting(StatusCode::FOUND, "/again"));
    let builder = builder(&server.url("/")).follow_redirects(2);
    for &family in FAMILIES {
        let error = fails(family, &builder);
        assert!(
            matches!(error, Error::Connect(ConnectError::Redirect(RedirectError::TooMany(2)))),
            "{family:?}: {error:?}"
        );
        // The first request and the two redirects followed.
        for _ in 0..3 {
            server.next();
        }
        server.assert_no_more();
    }
}

#[cfg(feature = "rustls")]
#[test]
fn a_redirect_from_wss_to_ws_is_refused() {
    let pki = tls_support::Pki::new();
    let to = Server::accepting();
    let from = Server::tls(tls_support::server_config(&pki.leaf, None), redirecting(StatusCode::FOUND, &to.url("/to")));
    let builder =
        builder(&format!("wss://127.0.0.1:{}/from", from.addr.port())).tls(pki.connector()).follow_redirects(5);
    for &family in FAMILIES {
        let error = fails(family, &builder);
        assert!(
            matches!(error, Error::Connect(ConnectError::Redirect(RedirectError::Downgrade))),
            "{family:?}: {error:?}"
        );
        from.next();
        from.assert_no_more();
        to.assert_no_more();
    }
}

// ---- cookies and Origin ----

#[test]
fn the_server_sees_origin_and_cookies_and_its_set_cookie_reaches_the_client() {
    let server = Server::new(|_| {
        Ok(Accept::new().header(SET_COOKIE, HeaderValue::from_static("token=castle-in-the-sky; Path=/; HttpOnly")))
    });
    let builder = builder(&server.url("/")).origin(APP_ORIGIN).cookie("session", "42");
    for &family in FAMILIES {
        let response = connects(family, &builder);
        let seen = server.next();
        assert_eq!(seen.header(&ORIGIN), Some(APP_ORIGIN), "{family:?}");
        assert_eq!(cookies(&seen), ["session=42"], "{family:?}");
        let set = laputa::core::cookies::response_cookies(response.headers());
        assert_eq!(set.len(), 1, "{family:?}: {set:?}");
        assert_eq!((set[0].name(), set[0].value()), ("token", "castle-in-the-sky"), "{family:?}");
        assert_eq!(set[0].http_only(), Some(true), "{family:?}");
        server.assert_no_more();
    }
}

// ---- 103 Early Hints ----

/// A raw server for `connections` connections, one after the other: `103 Early Hints`, then the
/// `101`, then the echo of one text frame and the close handshake (RFC 9110 section 15.2:
/// "A client MUST be able to parse one or more 1xx responses received prior to a final
/// response").
fn early_hints_server(connections: usize) -> (SocketAddr, thread::JoinHandle<io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let addr = listener.local_addr().expect("its address");
    let handle = thread::spawn(move || {
        for _ in 0..connections {
            let (mut stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(WATCHDOG))?;
            stream.set_nodelay(true)?;
            early_hints_then_echo(&mut stream)?;
        }
        Ok(())
    });
    (addr, handle)
}

fn early_hints_then_echo(stream: &mut TcpStream) -> io::Result<()> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
        if head.len() > 8192 {
            return Err(invalid("a request head over 8 KiB"));
        }
    }
    let head = String::from_utf8(head).map_err(|_| invalid("a request head not in UTF-8"))?;
    let key = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, value)| value.trim().to_owned())
        .ok_or_else(|| invalid("no Sec-WebSocket-Key"))?;
    stream.write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </castle.css>; rel=preload; as=style\r\n\r\n")?;
    let accept = laputa::core::handshake::accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes())?;
    // The client's text frame, echoed unmasked; then its close frame, answered with the same
    // code, and the end of the connection.
    for expected in [0x81, 0x88] {
        let (first, payload) = read_client_frame(stream)?;
        if first != expected {
            return Err(invalid("an unexpected frame"));
        }
        stream.write_all(&[first, payload.len() as u8])?;
        stream.write_all(&payload)?;
    }
    stream.shutdown(Shutdown::Write)?;
    stream.read_to_end(&mut Vec::new())?;
    Ok(())
}

/// A masked frame of at most 125 bytes from the client: its first byte and unmasked payload.
fn read_client_frame(stream: &mut TcpStream) -> io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 6];
    stream.read_exact(&mut header)?;
    let len = usize::from(header[1] & 0x7f);
    if header[1] & 0x80 == 0 || len > 125 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a short masked frame"));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= header[2 + i % 4];
    }
    Ok((header[0], payload))
}

#[test]
fn a_103_before_the_101_is_passed_over() {
    let (addr, server) = early_hints_server(FAMILIES.len());
    let builder = builder(&format!("ws://{addr}/"));
    for &family in FAMILIES {
        let response = connects(family, &builder);
        assert!(!response.headers().contains_key("link"), "{family:?}: the 103's headers are not the 101's");
    }
    server.join().expect("the server thread").expect("the raw server's exchange");
}
