//! Plain HTTP on laputa's server with real clients (issue 20): `curl` and Python
//! (`tests/python/http_check.py`: `http.client` and raw sockets) against a `laputa::server::Server`
//! started in-process, with a document root, a `POST` handler and a WebSocket service. Every
//! check runs on both drivers of a server connection: the async one on tokio (`on_tokio::`;
//! smol and async-std share it) and the blocking one on threads (`on_threads::`).
//!
//! - curl: keep-alive reuse, `HEAD`, conditional `GET` (`If-None-Match`, `-z`, `If-Match`),
//!   ranges (206, 416), chunked upload, `Expect: 100-continue`, 404, 405, 413, 414, 431, and
//!   path traversal attempts (`--path-as-is`, `--request-target`, symbolic links out of the
//!   root), none of which ever returns a byte of a file outside the root.
//! - Python: 20 pipelined requests in one write, answered in order; HTTP/1.0; each request
//!   RFC 9112 forbids (request smuggling) refused with its status and the close, with a second
//!   request in the same write never answered; 501, 505; a slowloris head cut off by the request
//!   timeout; a WebSocket upgrade after plain requests on the same connection, and one
//!   pipelined behind a `GET` with its first frame in the same write.
//! - The `chat` example on each of its runtimes (tokio, smol, async-std, blocking): its page
//!   from `examples/chat/`, nothing beside it, the refused requests, its `/echo`.

use laputa::core::http1::ServerLimits;
use laputa::server::{BlockingServer, HttpRequest, HttpResponse, Server, Service, Session};
use laputa::tokio::Tokio;
use laputa::{CloseCode, Message};
use laputa_tests::{example_bin, free_port, out_dir, python_script, workspace_root, ChildGuard};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// No client run takes this long unless something is broken.
const WAIT: Duration = Duration::from_secs(120);

/// The body limit of the test server: 413 past it.
const MAX_BODY: u64 = 64 << 10;

/// What the file outside the root holds; no answer may ever contain it.
const SECRET: &str = "LAPUTA-SECRET-5b1e: the Levistone is in the lowest level";

/// FNV-1a (64 bits), the digest the `POST` handler answers with.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The `POST` handler's answer to `body`.
fn echo_answer(body: &[u8]) -> String {
    format!("len={} fnv1a64={:016x}", body.len(), fnv1a64(body))
}

/// 64 KiB of bytes with no period short enough to hide an offset error.
fn blob() -> Vec<u8> {
    (0..65_536u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

/// The two drivers of a server connection: the async one (tokio here; smol and async-std
/// share it) and the blocking one on threads.
#[derive(Debug, Clone, Copy)]
enum Driver {
    Tokio,
    Threads,
}

/// A running server of either driver.
enum Running {
    Tokio(tokio::runtime::Runtime, Server<Tokio>),
    Threads(BlockingServer),
}

/// A server with its files, on `driver`; stopped on drop.
///
/// ```text
/// DIR/site/             the document root
///   hello.txt           "Hello, Laputa!\n"
///   blob.bin            64 KiB (blob())
///   sub/index.html
///   in.txt -> hello.txt                  a link that stays inside
///   out.txt -> ../outside/secret.txt     links out of the root
///   outdir -> DIR/outside
/// DIR/outside/secret.txt                 SECRET
/// DIR/site/.env                          SECRET (hidden: never served)
/// ```
struct TestServer {
    running: Option<Running>,
    addr: SocketAddr,
    dir: PathBuf,
}

impl TestServer {
    /// Serves the site in `out_dir(http-conformance-NAME-DRIVER)` with `limits`: the files,
    /// `POST` (any path) answered with [`echo_answer`], and a WebSocket echo at `/echo`.
    fn start(driver: Driver, name: &str, limits: ServerLimits) -> Self {
        let dir = out_dir(&format!("http-conformance-{name}-{driver:?}").to_ascii_lowercase());
        let site = dir.join("site");
        fs::create_dir_all(site.join("sub")).unwrap();
        fs::create_dir_all(dir.join("outside")).unwrap();
        fs::write(site.join("hello.txt"), "Hello, Laputa!\n").unwrap();
        fs::write(site.join("blob.bin"), blob()).unwrap();
        fs::write(site.join("sub/index.html"), "<h1>sub</h1>\n").unwrap();
        fs::write(dir.join("outside/secret.txt"), SECRET).unwrap();
        fs::write(site.join(".env"), SECRET).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            symlink("hello.txt", site.join("in.txt")).unwrap();
            symlink("../outside/secret.txt", site.join("out.txt")).unwrap();
            symlink(dir.join("outside"), site.join("outdir")).unwrap();
        }
        let echo = Service::new(|| {
            |session: &Session, message: Message| {
                session.send(message);
            }
        });
        let builder = Server::builder()
            .bind("127.0.0.1:0")
            .document_root(&site)
            .unwrap()
            .on_post(|request: &HttpRequest| HttpResponse::text(echo_answer(request.body())))
            .http_limits(limits)
            .service("/echo", echo)
            .unwrap();
        let (running, addr) = match driver {
            Driver::Tokio => {
                let runtime =
                    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                let server = runtime.block_on(builder.start::<Tokio>()).expect("the server starts");
                let addr = server.local_addr();
                (Running::Tokio(runtime, server), addr)
            }
            Driver::Threads => {
                let server = builder.start_blocking().expect("the server starts");
                let addr = server.local_addr();
                (Running::Threads(server), addr)
            }
        };
        Self { running: Some(running), addr, dir }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    fn site(&self) -> PathBuf {
        self.dir.join("site")
    }

    /// [`curl`] with its files in the server's directory.
    fn curl(&self, args: &[&str]) -> Reply {
        curl(&self.dir, args)
    }

    /// Runs `tests/python/http_check.py` with `checks`; it must pass them all.
    fn python(&self, checks: &[&str]) -> String {
        let log = self.dir.join(format!("python-{}.log", checks.join("-")));
        let mut child = ChildGuard::spawn(
            python_script("http_check.py").arg(self.addr().to_string()).arg(self.site()).args(checks),
            &log,
        );
        child.expect_success(WAIT);
        let output = child.output();
        for check in checks {
            assert!(output.contains(&format!("ok: {check}\n")), "no ok for {check}:\n{output}");
        }
        output
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match self.running.take() {
            Some(Running::Tokio(runtime, server)) => runtime.block_on(server.stop(CloseCode::GOING_AWAY, "test over")),
            Some(Running::Threads(server)) => server.stop(CloseCode::GOING_AWAY, "test over"),
            None => {}
        }
    }
}

/// Runs `curl ARGS` (quiet, verbose trace on stderr, no proxy, no config file), writing the
/// heads and the body to files of its own in `dir`. No answer may hold [`SECRET`].
fn curl(dir: &Path, args: &[&str]) -> Reply {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let heads = dir.join(format!("curl-{n}.heads"));
    let body = dir.join(format!("curl-{n}.body"));
    let output = Command::new("curl")
        .args(["-q", "-sS", "-v", "--noproxy", "*", "--max-time", "60", "-D"])
        .arg(&heads)
        .arg("-o")
        .arg(&body)
        .args(args)
        .output()
        .expect("curl runs (scripts/test.sh installs it)");
    let trace = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "curl {args:?} failed: {}\n{trace}", output.status);
    let heads = fs::read_to_string(&heads).unwrap_or_default();
    let body = fs::read(&body).unwrap_or_default();
    let reply = Reply::new(&heads, body, trace);
    assert!(!String::from_utf8_lossy(&reply.body).contains("LAPUTA-SECRET"), "curl {args:?} got the secret");
    reply
}

/// One curl run: the last response's status and head, the body, the verbose trace.
struct Reply {
    status: u16,
    /// Every head curl received (interim `1xx` ones first), as written.
    heads: String,
    /// The last head's header lines.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trace: String,
}

impl Reply {
    fn new(heads: &str, body: Vec<u8>, trace: String) -> Self {
        let last = heads.split("\r\n\r\n").filter(|head| head.starts_with("HTTP/")).last().unwrap_or_default();
        let mut lines = last.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {heads:?}\n{trace}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Self { status, heads: heads.to_owned(), headers, body, trace }
    }

    /// The value of header `name` in the last head.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn small_body_limits() -> ServerLimits {
    let mut limits = ServerLimits::default();
    limits.max_body = MAX_BODY;
    limits
}

fn curl_keep_alive_reuses_the_connection(driver: Driver) {
    let server = TestServer::start(driver, "keep-alive", small_body_limits());
    let second = server.dir.join("second.body");
    let reply = server.curl(&[&server.url("/hello.txt"), "-o", second.to_str().unwrap(), &server.url("/sub/")]);
    assert!(reply.trace.contains("Re-using existing connection"), "{}", reply.trace);
    assert_eq!(reply.trace.matches("Connected to").count(), 1, "{}", reply.trace);
    assert_eq!(reply.body, b"Hello, Laputa!\n");
    assert_eq!(fs::read(second).unwrap(), b"<h1>sub</h1>\n");
    assert_eq!(reply.heads.matches("HTTP/1.1 200 OK").count(), 2, "{}", reply.heads);
}

fn curl_head_get_and_directories(driver: Driver) {
    let server = TestServer::start(driver, "head", small_body_limits());
    let get = server.curl(&[&server.url("/blob.bin")]);
    assert_eq!(get.status, 200);
    assert_eq!(get.body, blob());
    assert_eq!(get.header("content-length"), Some("65536"));
    assert!(get.header("date").is_some(), "{}", get.heads);

    // HEAD, then a GET on the same connection: a body after the HEAD's head would be read
    // as the GET's answer.
    let after = server.dir.join("after-head.body");
    let head = server.curl(&[
        "-I",
        &server.url("/blob.bin"),
        "--next",
        "-o",
        after.to_str().unwrap(),
        &server.url("/hello.txt"),
    ]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("65536"), "HEAD says what GET would send");
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(head.header("last-modified"), get.header("last-modified"));
    assert_eq!(head.body, head.heads.as_bytes(), "curl -I writes the head alone");
    assert!(head.trace.contains("Re-using existing connection"), "{}", head.trace);
    assert_eq!(fs::read(after).unwrap(), b"Hello, Laputa!\n");

    let text = server.curl(&[&server.url("/hello.txt")]);
    assert_eq!(text.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(text.header("x-content-type-options"), Some("nosniff"));

    let dir = server.curl(&[&server.url("/sub")]);
    assert_eq!(dir.status, 301);
    assert_eq!(dir.header("location"), Some("/sub/"));
    let followed = server.curl(&["-L", &server.url("/sub")]);
    assert_eq!((followed.status, followed.body.as_slice()), (200, &b"<h1>sub</h1>\n"[..]));
}

fn curl_conditional_get(driver: Driver) {
    let server = TestServer::start(driver, "conditional", small_body_limits());
    let first = server.curl(&[&server.url("/hello.txt")]);
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag: {etag}");

    let same = server.curl(&["-H", &format!("If-None-Match: {etag}"), &server.url("/hello.txt")]);
    assert_eq!(same.status, 304, "{}", same.heads);
    assert!(same.body.is_empty());
    assert_eq!(same.header("etag"), Some(etag.as_str()));
    let other = server.curl(&["-H", "If-None-Match: \"not-it\"", &server.url("/hello.txt")]);
    assert_eq!((other.status, other.body.as_slice()), (200, &b"Hello, Laputa!\n"[..]));

    // -z FILE: If-Modified-Since the file's own modification time.
    let file = server.site().join("hello.txt");
    let unmodified = server.curl(&["-z", file.to_str().unwrap(), &server.url("/hello.txt")]);
    assert!(unmodified.trace.contains("If-Modified-Since:"), "{}", unmodified.trace);
    assert_eq!(unmodified.status, 304);
    assert!(unmodified.body.is_empty());
    let modified = server.curl(&["-z", "1 Jan 2000 00:00:00 GMT", &server.url("/hello.txt")]);
    assert_eq!((modified.status, modified.body.as_slice()), (200, &b"Hello, Laputa!\n"[..]));
    // If-Match with another tag: 412.
    let failed = server.curl(&["-H", "If-Match: \"not-it\"", &server.url("/hello.txt")]);
    assert_eq!(failed.status, 412);
}

fn curl_ranges(driver: Driver) {
    let server = TestServer::start(driver, "ranges", small_body_limits());
    let blob = blob();
    let first = server.curl(&["-r", "0-99", &server.url("/blob.bin")]);
    assert_eq!(first.status, 206);
    assert_eq!(first.header("content-range"), Some("bytes 0-99/65536"));
    assert_eq!(first.header("content-length"), Some("100"));
    assert_eq!(first.body, &blob[..100]);

    let tail = server.curl(&["-r", "65000-", &server.url("/blob.bin")]);
    assert_eq!((tail.status, tail.header("content-range")), (206, Some("bytes 65000-65535/65536")));
    assert_eq!(tail.body, &blob[65000..]);
    let suffix = server.curl(&["-r", "-10", &server.url("/blob.bin")]);
    assert_eq!((suffix.status, suffix.body.as_slice()), (206, &blob[65526..]));

    let unsatisfiable = server.curl(&["-r", "70000-", &server.url("/blob.bin")]);
    assert_eq!(unsatisfiable.status, 416);
    assert_eq!(unsatisfiable.header("content-range"), Some("bytes */65536"));
    assert!(unsatisfiable.body.is_empty());

    // Several ranges: the whole file (no multipart body).
    let several = server.curl(&["-r", "0-1,5-6", &server.url("/blob.bin")]);
    assert_eq!((several.status, several.body.len()), (200, blob.len()));
    // If-Range with an ETag that no longer matches: the whole file.
    let stale = server.curl(&["-r", "0-99", "-H", "If-Range: \"old\"", &server.url("/blob.bin")]);
    assert_eq!((stale.status, stale.body.len()), (200, blob.len()));
}

fn curl_uploads_chunked_and_with_100_continue(driver: Driver) {
    let server = TestServer::start(driver, "upload", small_body_limits());
    let body: Vec<u8> = blob()[..40_000].to_vec();
    let file = server.dir.join("upload.bin");
    fs::write(&file, &body).unwrap();
    let data = format!("@{}", file.display());
    let answer = echo_answer(&body);

    let chunked =
        server.curl(&["-H", "Transfer-Encoding: chunked", "-H", "Expect:", "--data-binary", &data, &server.url("/up")]);
    assert!(chunked.trace.contains("> Transfer-Encoding: chunked"), "{}", chunked.trace);
    assert_eq!((chunked.status, String::from_utf8_lossy(&chunked.body)), (200, answer.as_str().into()));

    let continued = server.curl(&["-H", "Expect: 100-continue", "--data-binary", &data, &server.url("/up")]);
    assert!(continued.trace.contains("> Expect: 100-continue"), "{}", continued.trace);
    assert!(continued.heads.starts_with("HTTP/1.1 100 Continue\r\n"), "{}", continued.heads);
    assert_eq!((continued.status, String::from_utf8_lossy(&continued.body)), (200, answer.as_str().into()));

    // Both at once, then a plain one, on one connection.
    let both = server.curl(&[
        "-H",
        "Expect: 100-continue",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &data,
        &server.url("/up"),
        "--next",
        "-o",
        "/dev/null",
        "--data-binary",
        "abc",
        &server.url("/up"),
    ]);
    assert!(both.heads.starts_with("HTTP/1.1 100 Continue\r\n"), "{}", both.heads);
    assert!(both.trace.contains("Re-using existing connection"), "{}", both.trace);
    assert_eq!(String::from_utf8_lossy(&both.body), answer);
}

fn curl_error_statuses(driver: Driver) {
    let server = TestServer::start(driver, "errors", small_body_limits());
    let missing = server.curl(&[&server.url("/missing.txt")]);
    assert_eq!((missing.status, missing.body.len()), (404, 0));

    let delete = server.curl(&["-X", "DELETE", &server.url("/hello.txt")]);
    assert_eq!(delete.status, 405);
    assert_eq!(delete.header("allow"), Some("GET, HEAD, POST"));
    let put = server.curl(&["-X", "PUT", "--data-binary", "x", &server.url("/hello.txt")]);
    assert_eq!(put.status, 405);

    let over = vec![b'x'; MAX_BODY as usize + 1];
    let file = server.dir.join("over.bin");
    fs::write(&file, &over).unwrap();
    let data = format!("@{}", file.display());
    let too_large = server.curl(&["-H", "Expect:", "--data-binary", &data, &server.url("/up")]);
    assert_eq!(too_large.status, 413, "{}", too_large.heads);
    assert_eq!(too_large.header("connection"), Some("close"));
    let too_large =
        server.curl(&["-H", "Expect:", "-H", "Transfer-Encoding: chunked", "--data-binary", &data, &server.url("/up")]);
    assert_eq!(too_large.status, 413, "a chunked body past the limit: {}", too_large.heads);
    // With Expect, the refusal comes instead of the 100 Continue.
    let refused = server.curl(&["-H", "Expect: 100-continue", "--data-binary", &data, &server.url("/up")]);
    assert_eq!(refused.status, 413);
    assert!(!refused.heads.contains("100 Continue"), "{}", refused.heads);
    // Exactly at the limit: taken.
    fs::write(&file, &over[1..]).unwrap();
    let at_limit = server.curl(&["-H", "Expect:", "--data-binary", &data, &server.url("/up")]);
    assert_eq!(String::from_utf8_lossy(&at_limit.body), echo_answer(&over[1..]));

    let long_url = server.url(&format!("/{}", "a".repeat(10 << 10)));
    let too_long = server.curl(&[&long_url]);
    assert_eq!(too_long.status, 414);
    assert_eq!(too_long.header("connection"), Some("close"));

    let big_header = format!("X-Big: {}", "b".repeat(20 << 10));
    let too_big = server.curl(&["-H", &big_header, &server.url("/hello.txt")]);
    assert_eq!(too_big.status, 431);
    assert_eq!(too_big.header("connection"), Some("close"));

    // The server still answers after all that.
    let hello = server.curl(&[&server.url("/hello.txt")]);
    assert_eq!((hello.status, hello.body.as_slice()), (200, &b"Hello, Laputa!\n"[..]));
}

/// `(request target, status)`: what each attempt to leave the root gets (SECURITY.md,
/// "Document root").
const TRAVERSALS: &[(&str, u16)] = &[
    ("/../outside/secret.txt", 404),
    ("/../../../../../../etc/passwd", 404),
    ("/sub/../../outside/secret.txt", 404),
    ("/%2e%2e/outside/secret.txt", 404),
    ("/%2E%2E/outside/secret.txt", 404),
    ("/.%2e/outside/secret.txt", 404),
    ("/%2e%2e%2foutside%2fsecret.txt", 404),
    ("/..%2foutside%2fsecret.txt", 404),
    ("/sub%2f..%2f..%2foutside%2fsecret.txt", 404),
    ("/..%5coutside%5csecret.txt", 404),
    ("/%252e%252e/outside/secret.txt", 404),
    ("/hello.txt%00.png", 404),
    ("/%00/../outside/secret.txt", 404),
    ("//etc/passwd", 404),
    ("/etc/passwd", 404),
    ("/out.txt", 404),
    ("/outdir/secret.txt", 404),
    ("/outdir/", 404),
    ("/.env", 404),
    ("/%2eenv", 404),
    ("/%c0%ae%c0%ae/outside/secret.txt", 400),
    ("/%zz/outside/secret.txt", 400),
];

/// Targets curl's URL parser would rewrite, sent as they are with `--request-target`.
const RAW_TRAVERSALS: &[(&str, u16)] = &[
    ("/..\\outside\\secret.txt", 404),
    ("/sub\\..\\..\\outside\\secret.txt", 404),
    ("../outside/secret.txt", 400),
    // The absolute form, which a server must accept (RFC 9112 section 3.2.2): its path is
    // resolved like any other.
    ("http://h/../outside/secret.txt", 404),
    ("http://h/%2e%2e/outside/secret.txt", 404),
    ("*", 400),
];

fn curl_path_traversal_never_leaves_the_root(driver: Driver) {
    let server = TestServer::start(driver, "traversal", small_body_limits());
    // The controls: files inside are served, through a link that stays inside too.
    for path in ["/hello.txt", "/in.txt", "/sub/../hello.txt"] {
        let reply = server.curl(&[&server.url(path)]);
        assert_eq!((reply.status, reply.body.as_slice()), (200, &b"Hello, Laputa!\n"[..]), "{path}");
    }
    let mut answers = Vec::new();
    for &(target, status) in TRAVERSALS {
        let reply = server.curl(&["--path-as-is", &server.url(target)]);
        assert!(reply.trace.contains(&format!("> GET {target} HTTP/1.1")), "curl sent {target} as is: {}", reply.trace);
        answers.push((target, reply.status, status, reply.body));
    }
    for &(target, status) in RAW_TRAVERSALS {
        let reply = server.curl(&["--request-target", target, &server.url("/")]);
        assert!(reply.trace.contains(&format!("> GET {target} HTTP/1.1")), "{}", reply.trace);
        answers.push((target, reply.status, status, reply.body));
    }
    for (target, got, status, body) in answers {
        // Server::curl has checked that no body holds the secret.
        assert!(!String::from_utf8_lossy(&body).contains("root:"), "{target}: /etc/passwd");
        assert_eq!(got, status, "{target}");
    }
}

fn python_keep_alive_pipelining_and_http10(driver: Driver) {
    let server = TestServer::start(driver, "python", small_body_limits());
    server.python(&["keep_alive", "pipelined", "http10"]);
}

fn python_refused_requests_are_never_smuggled(driver: Driver) {
    let server = TestServer::start(driver, "refused", small_body_limits());
    let output = server.python(&["refused"]);
    assert!(output.contains("    missing host: 400\n"), "{output}");
}

fn python_slowloris_is_cut_off(driver: Driver) {
    let mut limits = small_body_limits();
    limits.request_timeout = Duration::from_secs(2);
    limits.body_timeout = Duration::from_secs(2);
    let server = TestServer::start(driver, "slowloris", limits);
    server.python(&["slowloris", "silent", "bare_lf", "stalled_body"]);
}

fn python_websocket_after_plain_requests(driver: Driver) {
    let server = TestServer::start(driver, "websocket", small_body_limits());
    server.python(&["websocket_after_http", "websocket_pipelined"]);
}

/// The `chat` example on each of its runtimes: its page from its document root
/// (`examples/chat/`), byte for byte, and nothing beside it (`examples/Cargo.toml`, its own
/// source); the refused requests; a WebSocket echo at `/echo`.
#[test]
fn chat_example_serves_its_page_and_nothing_else() {
    let page = workspace_root().join("examples").join("chat");
    let chat = example_bin("chat");
    for runtime in ["tokio", "smol", "async-std", "blocking"] {
        let dir = out_dir(&format!("http-conformance-chat-{runtime}"));
        let addr = free_port();
        let mut child = ChildGuard::spawn(
            Command::new(&chat).args(["--addr", &addr.to_string(), "--runtime", runtime]),
            &dir.join("chat.log"),
        );
        child.wait_for_output(&format!("chat: open http://{addr}/"), WAIT);
        for (path, file) in [("/", "index.html"), ("/chat.js", "chat.js"), ("/chat.css", "chat.css")] {
            let reply = curl(&dir, &[&format!("http://{addr}{path}")]);
            assert_eq!(reply.status, 200, "{runtime} {path}");
            assert_eq!(reply.body, fs::read(page.join(file)).unwrap(), "{runtime} {path}");
        }
        let js = curl(&dir, &["-I", &format!("http://{addr}/chat.js")]);
        assert_eq!(js.header("content-type"), Some("text/javascript; charset=utf-8"), "{runtime}");
        for target in [
            "/../Cargo.toml",
            "/../src/bin/chat.rs",
            "/%2e%2e/Cargo.toml",
            "/..%2fCargo.toml",
            "/chat/../../Cargo.toml",
        ] {
            let reply = curl(&dir, &["--path-as-is", &format!("http://{addr}{target}")]);
            assert_eq!(reply.status, 404, "{runtime} {target}");
            assert!(!String::from_utf8_lossy(&reply.body).contains("[package]"), "{runtime} {target}");
        }
        let log = dir.join("python.log");
        let mut python = ChildGuard::spawn(
            python_script("http_check.py").arg(addr.to_string()).arg(&page).args(["refused", "websocket_echo"]),
            &log,
        );
        python.expect_success(WAIT);
        assert!(python.output().contains("ok: refused\nok: websocket_echo\n"), "{runtime}: {}", python.output());
    }
}

/// Each check above as a test on each driver: `on_tokio::NAME` and `on_threads::NAME`.
macro_rules! on_each_driver {
    ($($name:ident),* $(,)?) => {
        mod on_tokio {
            $(#[test] fn $name() { super::$name(super::Driver::Tokio) })*
        }
        mod on_threads {
            $(#[test] fn $name() { super::$name(super::Driver::Threads) })*
        }
    };
}

on_each_driver!(
    curl_keep_alive_reuses_the_connection,
    curl_head_get_and_directories,
    curl_conditional_get,
    curl_ranges,
    curl_uploads_chunked_and_with_100_continue,
    curl_error_statuses,
    curl_path_traversal_never_leaves_the_root,
    python_keep_alive_pipelining_and_http10,
    python_refused_requests_are_never_smuggled,
    python_slowloris_is_cut_off,
    python_websocket_after_plain_requests,
);
