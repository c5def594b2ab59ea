//! Plain HTTP and WebSocket on one port (issue 20), one scenario set run on every server: tokio,
//! smol, async-std and the blocking server's threads. Handlers per method (`HEAD` falling back
//! to `GET`, bodies, `405` with `Allow`, `404`), the document root (files, `index.html`, a
//! range), a WebSocket service beside plain requests on one kept-alive connection, `https` and
//! `wss` on one TLS port, Basic and Digest on plain requests, and a handler that panics.
//!
//! Plain requests go through a raw HTTP/1.1 client over a `TcpStream` (or a rustls stream);
//! WebSockets through laputa's blocking client. The HTTP rules themselves (pipelining,
//! smuggling, limits) are the conformance tests' in `tests/`.

#![cfg(feature = "blocking")]

#[cfg(feature = "rustls")]
#[allow(dead_code, unreachable_pub)]
mod tls_support;

use laputa::blocking;
use laputa::core::auth::{Challenge, ClientAuth, Credentials, ServerAuth};
use laputa::core::server::{Admission, UserSecret};
use laputa::core::Rng;
use laputa::http::{HeaderValue, Method, StatusCode};
use laputa::server::{HttpRequest, HttpResponse, Server, ServerBuilder, Service, Session};
use laputa::{ClientRequest, CloseCode, Config, Message};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

/// A server started on one of the drivers, seen from blocking test code.
struct Running {
    addr: SocketAddr,
    connections: Box<dyn Fn() -> usize + Send>,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Running {
    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://localhost:{}{path}", self.addr.port())
    }

    /// Waits until the server holds no connection (each ends on its own thread or task).
    fn until_idle(&self) {
        while (self.connections)() > 0 {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// Starts a server on one driver.
type Start = fn(ServerBuilder) -> Running;

fn blocking_server(builder: ServerBuilder) -> Running {
    let server = std::sync::Arc::new(builder.bind("127.0.0.1:0").start_blocking().unwrap());
    let (counted, stopped) = (server.clone(), server.clone());
    Running {
        addr: server.local_addr(),
        connections: Box::new(move || counted.connections()),
        stop: Some(Box::new(move || stopped.stop(CloseCode::GOING_AWAY, ""))),
    }
}

#[cfg(feature = "tokio")]
fn tokio_server(builder: ServerBuilder) -> Running {
    use laputa::tokio::Tokio;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = std::sync::Arc::new(runtime.block_on(builder.bind("127.0.0.1:0").start::<Tokio>()).unwrap());
    let (counted, stopped) = (server.clone(), server.clone());
    Running {
        addr: server.local_addr(),
        connections: Box::new(move || counted.connections()),
        stop: Some(Box::new(move || runtime.block_on(stopped.stop(CloseCode::GOING_AWAY, "")))),
    }
}

/// smol's and async-std's tasks run on their global executors' threads.
#[cfg(feature = "smol")]
fn smol_server(builder: ServerBuilder) -> Running {
    use laputa::smol::Smol;
    let server = std::sync::Arc::new(smol::block_on(builder.bind("127.0.0.1:0").start::<Smol>()).unwrap());
    let (counted, stopped) = (server.clone(), server.clone());
    Running {
        addr: server.local_addr(),
        connections: Box::new(move || counted.connections()),
        stop: Some(Box::new(move || smol::block_on(stopped.stop(CloseCode::GOING_AWAY, "")))),
    }
}

#[cfg(feature = "async-std")]
fn async_std_server(builder: ServerBuilder) -> Running {
    use laputa::async_std::AsyncStd;
    let server =
        std::sync::Arc::new(async_std::task::block_on(builder.bind("127.0.0.1:0").start::<AsyncStd>()).unwrap());
    let (counted, stopped) = (server.clone(), server.clone());
    Running {
        addr: server.local_addr(),
        connections: Box::new(move || counted.connections()),
        stop: Some(Box::new(move || async_std::task::block_on(stopped.stop(CloseCode::GOING_AWAY, "")))),
    }
}

/// Runs `scenario` on a thread, failing if it panics or outlives the watchdog.
fn run(start: Start, scenario: fn(Start)) {
    let (done, finished) = mpsc::channel();
    let scenario = thread::spawn(move || {
        scenario(start);
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => scenario.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(scenario.join().unwrap_err()),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test timed out"),
    }
}

// ---- a raw HTTP/1.1 client ----

/// A response as read off the wire.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// One client connection, kept alive across requests. Reads exactly one response at a time
/// (nothing past it), so that the stream can then carry a WebSocket.
struct Client<S> {
    stream: S,
}

impl<S: Read + Write> Client<S> {
    /// Sends `method target` with `headers` (each `Name: value`) and `body`; reads the answer.
    fn send(&mut self, method: &str, target: &str, headers: &[&str], body: &[u8]) -> Response {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        if !body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.stream.write_all(&request).unwrap();
        self.stream.flush().unwrap();
        self.read_response(method == "HEAD")
    }

    fn get(&mut self, target: &str) -> Response {
        self.send("GET", target, &[], b"")
    }

    fn read_response(&mut self, head_only: bool) -> Response {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            assert_eq!(
                self.stream.read(&mut byte).unwrap(),
                1,
                "the server closed: {:?}",
                String::from_utf8_lossy(&head)
            );
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        let mut response = Response { status, headers, body: Vec::new() };
        // RFC 9112 section 6.3: no body after HEAD, 204 or 304.
        if !head_only && status != 204 && status != 304 {
            let length: usize = response.header("content-length").expect("framed by Content-Length").parse().unwrap();
            response.body.resize(length, 0);
            self.stream.read_exact(&mut response.body).unwrap();
        }
        response
    }
}

fn connect(server: &Running) -> Client<TcpStream> {
    Client { stream: TcpStream::connect(server.addr).unwrap() }
}

/// The server closed the connection (after its last response).
fn assert_closed(stream: &mut impl Read) {
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

fn echo() -> Service {
    Service::new(|| {
        |session: &Session, message: Message| {
            session.send(message);
        }
    })
}

/// A directory of its own under the system's temp directory, removed on drop: `index.html`,
/// `digits.txt` ("0123456789"), `docs/index.html`.
struct Site(PathBuf);

impl Site {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("laputa-http-server-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        std::fs::write(dir.join("index.html"), "<h1>Laputa</h1>").unwrap();
        std::fs::write(dir.join("digits.txt"), "0123456789").unwrap();
        std::fs::write(dir.join("docs/index.html"), "<h1>docs</h1>").unwrap();
        Self(dir)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- the scenarios ----

/// Every method's handler on one kept-alive connection; `HEAD` gets `GET`'s head; a method
/// without a handler gets `405` with `Allow`; `GET` without handler nor files gets `404`.
fn handlers_per_method(start: Start) {
    let server = start(
        Server::builder()
            .on_get(|request: &HttpRequest| {
                HttpResponse::text(format!("GET {} {:?}", request.path(), request.query_param("q")))
            })
            .on_post(|request: &HttpRequest| {
                HttpResponse::text(format!("POST {} bytes: {}", request.body().len(), request.text().unwrap_or("?")))
                    .status(StatusCode::CREATED)
            })
            .on_put(|request: &HttpRequest| HttpResponse::text(format!("PUT {}", request.text().unwrap_or("?"))))
            .on_delete(|_: &HttpRequest| HttpResponse::new(StatusCode::NO_CONTENT))
            .on_options(|_: &HttpRequest| {
                HttpResponse::new(StatusCode::NO_CONTENT)
                    .header(laputa::http::header::ALLOW, HeaderValue::from_static("GET, POST"))
            }),
    );
    let mut client = connect(&server);
    let get = client.get("/things?q=a%20b");
    assert_eq!((get.status, get.text()), (200, "GET /things Some(\"a b\")"));
    assert_eq!(get.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(get.header("date").is_some(), "the adapter dates its responses");
    let head = client.send("HEAD", "/things?q=a%20b", &[], b"");
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("content-length"), get.header("content-length"), "GET's head");
    let post = client.send("POST", "/things", &["Content-Type: text/plain"], b"hello laputa");
    assert_eq!((post.status, post.text()), (201, "POST 12 bytes: hello laputa"));
    let put = client.send("PUT", "/things/1", &[], b"new");
    assert_eq!((put.status, put.text()), (200, "PUT new"));
    let delete = client.send("DELETE", "/things/1", &[], b"");
    assert_eq!((delete.status, delete.body.len()), (204, 0));
    let options = client.send("OPTIONS", "*", &[], b"");
    assert_eq!((options.status, options.header("allow")), (204, Some("GET, POST")));
    let patch = client.send("PATCH", "/things/1", &[], b"x");
    assert_eq!(patch.status, 405);
    assert_eq!(patch.header("allow"), Some("DELETE, GET, HEAD, OPTIONS, POST, PUT"));
    // Still the same connection.
    assert_eq!(client.get("/again").status, 200);
    drop(client);

    let posts_only = start(Server::builder().on_post(|_: &HttpRequest| HttpResponse::text("ok")));
    let mut client = connect(&posts_only);
    assert_eq!(client.get("/").status, 404);
    assert_eq!(client.send("HEAD", "/", &[], b"").status, 404);
    let put = client.send("PUT", "/", &[], b"x");
    assert_eq!((put.status, put.header("allow")), (405, Some("POST")));
}

/// Files, a directory's `index.html`, a range, a missing file: on one connection.
fn document_root(start: Start) {
    let site = Site::new();
    let server = start(Server::builder().document_root(&site.0).unwrap());
    let mut client = connect(&server);
    let index = client.get("/");
    assert_eq!((index.status, index.text()), (200, "<h1>Laputa</h1>"));
    assert_eq!(index.header("content-type"), Some("text/html; charset=utf-8"));
    let docs = client.get("/docs/");
    assert_eq!((docs.status, docs.text()), (200, "<h1>docs</h1>"));
    let moved = client.get("/docs");
    assert_eq!((moved.status, moved.header("location")), (301, Some("/docs/")));
    let range = client.send("GET", "/digits.txt", &["Range: bytes=2-5"], b"");
    assert_eq!((range.status, range.text()), (206, "2345"));
    assert_eq!(range.header("content-range"), Some("bytes 2-5/10"));
    let etag = client.get("/digits.txt").header("etag").unwrap().to_owned();
    let unchanged = client.send("GET", "/digits.txt", &[&format!("If-None-Match: {etag}")], b"");
    assert_eq!((unchanged.status, unchanged.body.len()), (304, 0));
    assert_eq!(client.get("/missing.txt").status, 404);
    assert_eq!(client.get("/%2e%2e/etc/passwd").status, 404);
    let head = client.send("HEAD", "/digits.txt", &[], b"");
    assert_eq!((head.status, head.header("content-length")), (200, Some("10")));
    let post = client.send("POST", "/digits.txt", &[], b"x");
    assert_eq!(post.status, 405);
}

/// Plain requests, then the upgrade, on one kept-alive connection; the service beside the
/// handlers on the same port; plain requests on another connection while the session is open.
fn websocket_beside_plain_requests(start: Start) {
    let server = start(
        Server::builder()
            .on_get(|request: &HttpRequest| HttpResponse::text(format!("page {}", request.path())))
            .service("/echo", echo())
            .unwrap(),
    );
    let mut client = connect(&server);
    assert_eq!(client.get("/index").text(), "page /index");
    assert_eq!(client.send("POST", "/form", &[], b"a=1").status, 405);
    assert_eq!(client.get("/again").text(), "page /again");
    let request = ClientRequest::new(&server.url("ws", "/echo")).unwrap();
    let (mut ws, response) = blocking::client(client.stream, request, Config::default()).unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send("BALUS").unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("BALUS"));

    // The port serves plain requests meanwhile, and other upgrades.
    assert_eq!(connect(&server).get("/meanwhile").text(), "page /meanwhile");
    let (mut other, _) = blocking::connect(server.url("ws", "/echo").as_str()).unwrap();
    other.send("other").unwrap();
    assert_eq!(other.read().unwrap().as_text(), Some("other"));
    let refused = blocking::connect(server.url("ws", "/nowhere").as_str()).map(drop).unwrap_err();
    assert_eq!(refused.http_status(), Some(StatusCode::NOT_FOUND));
    ws.send("still").unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("still"));
    ws.close().unwrap();
    other.close().unwrap();
}

/// `https` requests and `wss` sessions on one TLS port, plain requests then the upgrade on one
/// TLS connection; plaintext to that port is not served.
#[cfg(feature = "rustls")]
fn https_and_wss_on_one_tls_port(start: Start) {
    use laputa::tls::{self, TlsAcceptor};
    let pki = tls_support::Pki::new();
    let acceptor = TlsAcceptor::from_pem(pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes()).unwrap();
    let builder = Server::builder()
        .tls(acceptor)
        .on_get(|request: &HttpRequest| {
            HttpResponse::text(format!("secure={} {}", request.is_secure(), request.path()))
        })
        .on_post(|request: &HttpRequest| HttpResponse::text(format!("{} bytes", request.body().len())))
        .service("/echo", echo())
        .unwrap();
    let server = start(builder);
    let tls_stream = || {
        let tcp = TcpStream::connect(server.addr).unwrap();
        tls::handshake_blocking(tcp, "localhost", &pki.connector(), None).unwrap()
    };
    let mut client = Client { stream: tls_stream() };
    assert_eq!(client.get("/page").text(), "secure=true /page");
    // 100 KiB: several TLS records.
    assert_eq!(client.send("POST", "/upload", &[], &vec![7; 100 << 10]).text(), "102400 bytes");
    let request = ClientRequest::new(&server.url("wss", "/echo")).unwrap();
    let (mut ws, _) = blocking::client(client.stream, request, Config::default()).unwrap();
    let large: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
    ws.send(large.clone()).unwrap();
    assert_eq!(ws.read().unwrap().payload(), &large[..]);

    // A wss connect of its own, and another https request, meanwhile.
    let builder = laputa::ClientBuilder::new(&server.url("wss", "/echo")).unwrap().tls(pki.connector());
    let (mut other, _) = blocking::connect(builder).unwrap();
    other.send("over TLS").unwrap();
    assert_eq!(other.read().unwrap().as_text(), Some("over TLS"));
    assert_eq!(Client { stream: tls_stream() }.get("/second").text(), "secure=true /second");
    // Plaintext to the TLS port: no answer in the clear.
    let mut plain = connect(&server);
    plain.stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.stream.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{:?}", String::from_utf8_lossy(&answer));
    ws.close().unwrap();
    other.close().unwrap();
}

fn users(name: &str) -> Option<UserSecret> {
    (name == "alice").then(|| UserSecret::password("wonderland").roles(["reader"]))
}

/// The handler says who it saw.
fn whoami(request: &HttpRequest) -> HttpResponse {
    let user = request.user().map(|user| format!("{} {:?}", user.name(), user.roles()));
    HttpResponse::text(format!("{} {}", request.method(), user.as_deref().unwrap_or("nobody")))
}

/// The challenges of a 401.
fn challenges(response: &Response) -> Vec<Challenge> {
    assert_eq!(response.status, 401, "{}", response.text());
    let values: Vec<HeaderValue> =
        response.headers_named("www-authenticate").into_iter().map(|v| HeaderValue::from_str(v).unwrap()).collect();
    Challenge::parse_all(&values)
}

/// Basic and Digest on plain requests: 401 with the challenges, then 200 with the user the
/// handler saw; a refused request's body drained and the connection kept; upgrades checked by
/// their own service, not by the HTTP admission.
fn basic_and_digest_on_plain_requests(start: Start) {
    let credentials = Credentials::new("alice", "wonderland");
    // Basic.
    let basic = Admission::new().auth(ServerAuth::basic("files"), users);
    let server = start(Server::builder().http_admission(basic).on_get(whoami).on_post(whoami));
    let mut client = connect(&server);
    let refused = client.send("POST", "/notes", &[], b"an upload nobody may make");
    let challenge = challenges(&refused);
    assert_eq!(challenge.len(), 1);
    let mut answerer = ClientAuth::new(&challenge[0]).unwrap();
    let authorization = answerer.answer(&credentials, &Method::POST, "/notes", &mut Rng::os());
    let header = format!("Authorization: {}", authorization.to_str().unwrap());
    // The same connection: the refused body was drained.
    let admitted = client.send("POST", "/notes", &[&header], b"an upload");
    assert_eq!((admitted.status, admitted.text()), (200, "POST alice [\"reader\"]"));
    let wrong = client.send("GET", "/", &["Authorization: Basic YWxpY2U6bm9wZQ=="], b""); // alice:nope
    assert_eq!(wrong.status, 401);
    let malformed = client.send("GET", "/", &["Authorization: Basic !!!"], b"");
    assert_eq!(malformed.status, 400);
    drop(client);

    // Digest, with a service beside it that asks nothing.
    let digest = Admission::new().auth(ServerAuth::digest("files", b"a secret of the test server....."), users);
    let builder = Server::builder().http_admission(digest).on_get(whoami).on_put(whoami);
    let server = start(builder.service("/echo", echo()).unwrap());
    let mut client = connect(&server);
    let challenges = challenges(&client.get("/doc?v=1"));
    let sha256 = challenges.iter().find(|c| c.param("algorithm") == Some("SHA-256")).expect("SHA-256 offered");
    let mut answerer = ClientAuth::new(sha256).unwrap();
    let mut answered = |method: &Method, target: &str| {
        let value = answerer.answer(&credentials, method, target, &mut Rng::os());
        format!("Authorization: {}", value.to_str().unwrap())
    };
    let header = answered(&Method::GET, "/doc?v=1");
    let admitted = client.send("GET", "/doc?v=1", &[&header], b"");
    assert_eq!((admitted.status, admitted.text()), (200, "GET alice [\"reader\"]"));
    // The same header again is a replay.
    assert_eq!(client.send("GET", "/doc?v=1", &[&header], b"").status, 401);
    // The next answer (nc 2), for another method and target.
    let header = answered(&Method::PUT, "/doc?v=2");
    assert_eq!(client.send("PUT", "/doc?v=2", &[&header], b"text").text(), "PUT alice [\"reader\"]");
    // Answered for one target, sent to another.
    let header = answered(&Method::GET, "/doc?v=1");
    assert_eq!(client.send("GET", "/elsewhere", &[&header], b"").status, 400);
    let (mut ws, _) = blocking::connect(server.url("ws", "/echo").as_str()).unwrap();
    ws.send("no credentials asked").unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("no credentials asked"));
    ws.close().unwrap();
}

/// A handler that panics answers 500; the connection and the server go on.
fn a_handler_that_panics(start: Start) {
    let server = start(Server::builder().on_get(|request: &HttpRequest| {
        if request.path() == "/boom" {
            panic!("a handler bug");
        }
        HttpResponse::text("fine")
    }));
    let mut client = connect(&server);
    assert_eq!(client.get("/boom").status, 500);
    assert_eq!(client.get("/").text(), "fine");
    assert_eq!(connect(&server).get("/boom").status, 500);
    let mut last = connect(&server);
    assert_eq!(last.send("GET", "/", &["Connection: close"], b"").text(), "fine");
    assert_closed(&mut last.stream);
    drop(client);
    server.until_idle();
}

/// A client that asks for a large body and reads none of it is let go at the write-stall
/// deadline; the server goes on serving others meanwhile and after.
fn a_client_that_reads_nothing_is_let_go(start: Start) {
    let mut config = Config::default();
    config.write_stall_timeout = Some(Duration::from_millis(200));
    let server =
        start(Server::builder().handshake_config(config).on_get(|request: &HttpRequest| match request.path() {
            "/huge" => HttpResponse::reader(std::io::repeat(b'x').take(1 << 30), 1 << 30),
            _ => HttpResponse::text("small"),
        }));
    let mut stuck = connect(&server);
    // Pipelined requests after it are not read ahead while the output waits.
    stuck.stream.write_all(b"GET /huge HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    assert_eq!(connect(&server).get("/").text(), "small");
    // The server drops the connection once its output stopped moving.
    server.until_idle();
    assert_eq!(connect(&server).get("/").text(), "small");
    drop(stuck);
}

macro_rules! on_every_server {
    ($($(#[$cfg:meta])* $scenario:ident;)*) => {
        mod blocking_server {
            $( $(#[$cfg])* #[test] fn $scenario() { super::run(super::blocking_server, super::$scenario) } )*
        }
        #[cfg(feature = "tokio")]
        mod tokio_server {
            $( $(#[$cfg])* #[test] fn $scenario() { super::run(super::tokio_server, super::$scenario) } )*
        }
        #[cfg(feature = "smol")]
        mod smol_server {
            $( $(#[$cfg])* #[test] fn $scenario() { super::run(super::smol_server, super::$scenario) } )*
        }
        #[cfg(feature = "async-std")]
        mod async_std_server {
            $( $(#[$cfg])* #[test] fn $scenario() { super::run(super::async_std_server, super::$scenario) } )*
        }
    };
}

/// Counts an upload's bytes, their sum and the pieces they came in, holding none of them.
#[derive(Default)]
struct Checksum {
    len: u64,
    sum: u64,
    pieces: u64,
}

impl laputa::server::BodySink for Checksum {
    fn data(&mut self, chunk: &[u8]) {
        self.len += chunk.len() as u64;
        self.pieces += 1;
        self.sum = chunk.iter().fold(self.sum, |sum, &byte| sum.wrapping_add(u64::from(byte)));
    }

    fn finish(self: Box<Self>) -> HttpResponse {
        HttpResponse::text(format!("{} {} {}", self.len, self.sum, self.pieces > 1))
    }
}

/// A body taken as a stream: an upload larger than any buffer the server keeps arrives in
/// pieces, with Content-Length and chunked; a refusal answers before the body.
fn a_streamed_upload(start: Start) {
    let mut limits = laputa::core::http1::ServerLimits::default();
    limits.max_body = 16 << 20;
    let server =
        start(Server::builder().http_limits(limits).on_stream(laputa::http::Method::PUT, |request: &HttpRequest| {
            if request.path() == "/upload" {
                Ok(Box::new(Checksum::default()) as Box<dyn laputa::server::BodySink>)
            } else {
                Err(HttpResponse::new(StatusCode::FORBIDDEN))
            }
        }));
    let body: Vec<u8> = (0..4u64 << 20).map(|i| (i % 251) as u8).collect();
    let sum = body.iter().fold(0u64, |sum, &byte| sum.wrapping_add(u64::from(byte)));
    let mut client = connect(&server);
    let put = client.send("PUT", "/upload", &[], &body);
    assert_eq!((put.status, put.text()), (200, format!("{} {sum} true", body.len()).as_str()));
    let mut chunked = Vec::new();
    for piece in body.chunks(100_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut request = b"PUT /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend_from_slice(&chunked);
    client.stream.write_all(&request).unwrap();
    let put = client.read_response(false);
    assert_eq!((put.status, put.text()), (200, format!("{} {sum} true", body.len()).as_str()));
    let refused = client.send("PUT", "/elsewhere", &[], b"not wanted");
    assert_eq!(refused.status, 403);
    let patch = connect(&server).send("PATCH", "/upload", &[], b"x");
    assert_eq!((patch.status, patch.header("allow")), (405, Some("PUT")));
}

/// `CONNECT` reaches its handler (websocket-sharp's `OnConnect`), which may refuse; the
/// server opens no tunnel.
fn connect_is_answered_by_its_handler(start: Start) {
    let server = start(Server::builder().on_connect(|request: &HttpRequest| {
        HttpResponse::text(format!("no tunnel to {}", request.request().uri())).status(StatusCode::FORBIDDEN)
    }));
    let mut client = connect(&server);
    let refused = client.send("CONNECT", "example.com:443", &[], b"");
    assert_eq!((refused.status, refused.text()), (403, "no tunnel to example.com:443"));
}

on_every_server! {
    handlers_per_method;
    document_root;
    websocket_beside_plain_requests;
    #[cfg(feature = "rustls")]
    https_and_wss_on_one_tls_port;
    basic_and_digest_on_plain_requests;
    a_handler_that_panics;
    a_client_that_reads_nothing_is_let_go;
    a_streamed_upload;
    connect_is_answered_by_its_handler;
}
