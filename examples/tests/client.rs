//! The `client` example end to end, against servers run by the test: it sends stdin's lines and
//! prints the echoes on every runtime; what its flags ask for reaches the server (Origin,
//! headers, cookies, subprotocols, credentials), through a proxy, over TLS, after a redirect;
//! every failure is one line `client: REASON` and status 1.

mod support;

use laputa::http::{header, HeaderMap, HeaderValue, StatusCode};
use laputa::tls::rustls;
use laputa::{blocking, Accept, Config, IncomingRequest, Reject};
use laputa_tests::{free_port, out_dir, ChildGuard};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;
use support::{run, run_command, Finished};

const CLIENT: &str = env!("CARGO_BIN_EXE_client");
const RUNTIMES: [&str; 4] = ["blocking", "tokio", "smol", "async-std"];
const TIMEOUT: Duration = Duration::from_secs(20);

/// `nobita:password` and `muska:balse` in Basic's base64 (RFC 7617 section 2).
const NOBITA: &str = "Basic bm9iaXRhOnBhc3N3b3Jk";
const MUSKA: &str = "Basic bXVza2E6YmFsc2U=";

/// Runs the client with `args`, giving it `input` and closing stdin.
fn client(args: &[&str], input: &str) -> Finished {
    run(CLIENT, args, input, false, TIMEOUT)
}

/// Asserts that the client exited 0 having printed `output`, and nothing on stderr.
fn assert_echoed(finished: &Finished, output: &str, what: &str) {
    assert!(finished.status.success(), "{what}: {}\n{}", finished.status, finished.stderr);
    assert_eq!(finished.stdout, output, "{what}");
    assert_eq!(finished.stderr, "", "{what}");
}

/// Asserts that the client failed with status 1 and one line `client: ...` containing each of
/// `parts`, and returns that line.
fn assert_failed(finished: &Finished, parts: &[&str], what: &str) -> String {
    assert_eq!(finished.status.code(), Some(1), "{what}: {}", finished.stderr);
    let line = finished.stderr.trim_end();
    assert!(line.starts_with("client: ") && !line.contains('\n'), "{what}: not one line: {line:?}");
    for part in parts {
        assert!(line.contains(part), "{what}: no {part:?} in {line:?}");
    }
    line.to_owned()
}

/// What a test server saw of one upgrade request.
#[derive(Debug)]
struct Seen {
    path: String,
    origin: Option<String>,
    protocols: Vec<String>,
    headers: HeaderMap,
}

type Decide = dyn Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync;

/// A laputa blocking server on loopback (over TLS with `tls`), each connection on a thread of its
/// own: it reports every upgrade request it reads, answers as `decide` says, then echoes
/// `echoes` messages and closes with 1000 (or, with `None`, echoes until the client closes).
struct Server {
    addr: SocketAddr,
    seen: mpsc::Receiver<Seen>,
}

impl Server {
    fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        echoes: Option<usize>,
        decide: impl Fn(&IncomingRequest) -> Result<Accept, Reject> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
        let addr = listener.local_addr().expect("its address");
        let decide: Arc<Decide> = Arc::new(decide);
        let (report, seen) = mpsc::channel();
        thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let (tls, decide, report) = (tls.clone(), Arc::clone(&decide), report.clone());
                thread::spawn(move || {
                    let _ = tcp.set_read_timeout(Some(TIMEOUT));
                    match tls {
                        None => serve_one(tcp, &*decide, &report, echoes),
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                            let mut tls = rustls::StreamOwned::new(connection, tcp);
                            while tls.conn.is_handshaking() {
                                if tls.conn.complete_io(&mut tls.sock).is_err() {
                                    return;
                                }
                            }
                            serve_one(tls, &*decide, &report, echoes);
                        }
                    }
                });
            }
        });
        Server { addr, seen }
    }

    /// An echo server that accepts every upgrade.
    fn echo() -> Self {
        Self::start(None, None, |_| Ok(Accept::new()))
    }

    /// The next upgrade request the server read.
    fn next(&self) -> Seen {
        self.seen.recv_timeout(TIMEOUT).expect("an upgrade request within 20 s")
    }

    /// The upgrade requests read so far.
    fn all(&self) -> Vec<Seen> {
        self.seen.try_iter().collect()
    }
}

fn serve_one<S: blocking::Stream>(stream: S, decide: &Decide, report: &mpsc::Sender<Seen>, echoes: Option<usize>) {
    let accepted = blocking::accept_with(stream, Config::default(), |request| {
        let _ = report.send(Seen {
            path: request.path().to_owned(),
            origin: request.origin().map(str::to_owned),
            protocols: request.protocols().map(str::to_owned).collect(),
            headers: request.headers().clone(),
        });
        decide(request)
    });
    let Ok(mut ws) = accepted else { return };
    let mut echoed = 0;
    while echoes != Some(echoed) {
        let Ok(message) = ws.read() else { return };
        if ws.send(message).is_err() {
            return;
        }
        echoed += 1;
    }
    let _ = ws.close();
}

/// Refuses with `status` and `headers`, and the body `body`.
fn refuse(status: StatusCode, headers: &[(header::HeaderName, &str)], body: &str) -> Reject {
    let mut reject = Reject::new(status).body(body);
    for (name, value) in headers {
        reject = reject.header(name.clone(), HeaderValue::from_str(value).expect("a header value"));
    }
    reject
}

#[test]
fn echoes_stdin_through_echo_server_on_every_runtime() {
    let addr = free_port().to_string();
    let mut server = ChildGuard::spawn(
        Command::new(env!("CARGO_BIN_EXE_echo_server")).args(["--addr", &addr, "--runtime", "tokio"]),
        &out_dir("examples-client-echo").join("echo_server.log"),
    );
    server.wait_for_output("listening", Duration::from_secs(10));
    let url = format!("ws://{addr}/chat");
    let input = "Sheeta\nPazu\n\nDola\n";
    for runtime in RUNTIMES {
        for deflate in [false, true] {
            let mut args = vec![url.as_str(), "--runtime", runtime];
            args.extend(deflate.then_some("--deflate"));
            assert_echoed(&client(&args, input), input, &format!("{args:?}"));
        }
    }
}

#[test]
fn the_server_sees_origin_headers_cookies_and_protocols() {
    for runtime in RUNTIMES {
        // One echo, then the server closes: a normal end for the client, although its stdin
        // is still open.
        let server = Server::start(None, Some(1), |request| {
            Ok(match request.protocols().any(|p| p == "chat") {
                true => Accept::new().protocol("chat"),
                false => Accept::new(),
            })
        });
        let url = format!("ws://{}/tiger-moth?crew=4", server.addr);
        let args = [
            url.as_str(),
            "--runtime",
            runtime,
            "--origin",
            "https://laputa.example",
            "--header",
            "X-Laputa: Sheeta",
            "--header",
            "X-Crew:  Dola ",
            "--cookie",
            "stone=levitation",
            "--cookie",
            "robot=gardener",
            "--protocol",
            "chat.v2",
            "--protocol",
            "chat",
        ];
        let finished = run(CLIENT, &args, "Balse\n", true, TIMEOUT);
        assert_echoed(&finished, "Balse\n", runtime);
        let seen = server.next();
        assert_eq!(seen.path, "/tiger-moth", "{runtime}");
        assert_eq!(seen.origin.as_deref(), Some("https://laputa.example"), "{runtime}");
        assert_eq!(seen.protocols, ["chat.v2", "chat"], "{runtime}");
        assert_eq!(seen.headers["x-laputa"], "Sheeta", "{runtime}");
        assert_eq!(seen.headers["x-crew"], "Dola", "{runtime}");
        let cookies = seen.headers[header::COOKIE].to_str().expect("ASCII cookies");
        let mut cookies: Vec<&str> = cookies.split("; ").collect();
        cookies.sort_unstable();
        assert_eq!(cookies, ["robot=gardener", "stone=levitation"], "{runtime}");
    }
}

#[test]
fn a_refusal_is_one_line_with_the_status_and_the_body() {
    let server = Server::start(None, None, |_| Err(refuse(StatusCode::FORBIDDEN, &[], "not here,\r\nnot now")));
    let url = format!("ws://{}/", server.addr);
    for runtime in RUNTIMES {
        let finished = client(&[&url, "--runtime", runtime], "Balse\n");
        let line = assert_failed(&finished, &["server answered 403 Forbidden instead of 101"], runtime);
        assert!(line.ends_with(r#": "not here, not now""#), "{line}");
        assert_eq!(finished.stdout, "");
    }
    // Nothing listens on this port (it was free a moment ago).
    let url = format!("ws://{}/", free_port());
    for runtime in RUNTIMES {
        assert_failed(&client(&[&url, "--runtime", runtime], ""), &["client: I/O error: "], runtime);
    }
    // A URL that is not a WebSocket URL.
    assert_failed(&client(&["ftp://127.0.0.1/"], ""), &["ftp://127.0.0.1/: "], "ftp");
}

#[test]
fn credentials_answer_a_401() {
    // Basic, realm "laputa", for nobita:password only.
    let server = Server::start(None, None, |request| match request.headers().get(header::AUTHORIZATION) {
        Some(authorization) if authorization == NOBITA => Ok(Accept::new()),
        _ => Err(refuse(StatusCode::UNAUTHORIZED, &[(header::WWW_AUTHENTICATE, r#"Basic realm="laputa""#)], "")),
    });
    let url = format!("ws://{}/", server.addr);
    for runtime in RUNTIMES {
        let finished = client(&[&url, "--runtime", runtime], "Balse\n");
        assert_failed(&finished, &["401 Unauthorized", "(--user, --password)", r#"Basic realm="laputa""#], runtime);
        assert!(server.next().headers.get(header::AUTHORIZATION).is_none());

        let finished = client(&[&url, "--runtime", runtime, "--user", "nobita", "--password", "password"], "Balse\n");
        assert_echoed(&finished, "Balse\n", runtime);
        // Asked first, answered then.
        let seen: Vec<Seen> = [server.next(), server.next()].into();
        assert!(seen[0].headers.get(header::AUTHORIZATION).is_none(), "{runtime}");
        assert_eq!(seen[1].headers[header::AUTHORIZATION], NOBITA, "{runtime}");

        // With --preauth, the first request carries them.
        let args = [url.as_str(), "--runtime", runtime, "--user", "nobita", "--password", "password", "--preauth"];
        assert_echoed(&client(&args, "Balse\n"), "Balse\n", runtime);
        assert_eq!(server.next().headers[header::AUTHORIZATION], NOBITA, "{runtime}");

        let finished = client(&[&url, "--runtime", runtime, "--user", "nobita", "--password", "wrong"], "Balse\n");
        assert_failed(&finished, &["401 Unauthorized", "the credentials were refused"], runtime);
        assert!(server.all().len() >= 2, "{runtime}: asked, then refused the answer");
    }
}

#[test]
fn redirects_are_followed_only_when_asked() {
    let target = Server::echo();
    let location = format!("ws://{}/landed", target.addr);
    let redirect = {
        let location = location.clone();
        Server::start(None, None, move |_| Err(refuse(StatusCode::FOUND, &[(header::LOCATION, &location)], "")))
    };
    let url = format!("ws://{}/", redirect.addr);
    for runtime in RUNTIMES {
        let finished = client(&[&url, "--runtime", runtime], "Balse\n");
        let expected = format!("302 Found instead of 101, redirecting to {location} (--follow-redirects follows it)");
        assert_failed(&finished, &[&expected], runtime);

        assert_echoed(&client(&[&url, "--runtime", runtime, "--follow-redirects"], "Balse\n"), "Balse\n", runtime);
        assert_eq!(target.next().path, "/landed", "{runtime}");
    }
}

/// An HTTP proxy on loopback: it answers `CONNECT` with a tunnel (after a `407` asking for
/// Basic credentials until a request carries `credentials`, when given) and reports the head of
/// each request it reads.
fn start_proxy(credentials: Option<&'static str>) -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let addr = listener.local_addr().expect("its address");
    let (report, heads) = mpsc::channel();
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let report = report.clone();
            thread::spawn(move || tunnel(tcp, credentials, &report));
        }
    });
    (addr, heads)
}

fn tunnel(mut tcp: TcpStream, credentials: Option<&str>, report: &mpsc::Sender<String>) {
    let _ = tcp.set_read_timeout(Some(TIMEOUT));
    let Ok(clone) = tcp.try_clone() else { return };
    let mut reader = BufReader::new(clone);
    // Requests on one connection until one is authorized: the client may answer a 407 on the
    // connection it kept alive.
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head += &line,
            }
        }
        let _ = report.send(head.clone());
        let authorized = credentials.is_none_or(|expected| {
            head.lines()
                .any(|line| line.to_ascii_lowercase().starts_with("proxy-authorization:") && line.ends_with(expected))
        });
        if !authorized {
            let answer = "HTTP/1.1 407 Proxy Authentication Required\r\n\
                          Proxy-Authenticate: Basic realm=\"tiger-moth\"\r\nContent-Length: 0\r\n\r\n";
            if tcp.write_all(answer.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let Some(target) = head.strip_prefix("CONNECT ").and_then(|rest| rest.split(' ').next()) else { return };
        let Ok(mut upstream) = TcpStream::connect(target) else { return };
        let Ok(mut downstream) = upstream.try_clone() else { return };
        if tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
            return;
        }
        let mut back = tcp;
        thread::spawn(move || {
            let _ = std::io::copy(&mut upstream, &mut back);
            let _ = back.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut reader, &mut downstream);
        let _ = downstream.shutdown(std::net::Shutdown::Write);
        return;
    }
}

/// A client command for `url` through the proxy of the environment variable `HTTP_PROXY` set
/// to `proxy` (and no other proxy variable).
fn client_from_env(url: &str, runtime: &str, proxy: &str) -> Command {
    let mut command = Command::new(CLIENT);
    command.args([url, "--runtime", runtime, "--proxy-from-env"]);
    for name in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
        command.env_remove(name);
    }
    command.env("HTTP_PROXY", proxy);
    command
}

#[test]
fn the_proxy_is_asked_and_its_refusal_reported() {
    let url = format!("ws://{}/", free_port());
    let (guarded, heads) = start_proxy(Some(MUSKA));
    let guarded = format!("http://{guarded}");
    let expected = "proxy answered 407 Proxy Authentication Required to CONNECT: it asks for credentials \
                    (--proxy-user, --proxy-password)";
    for runtime in RUNTIMES {
        let finished = client(&[&url, "--runtime", runtime, "--proxy", &guarded], "Balse\n");
        assert_failed(&finished, &[expected], runtime);
        let head = heads.recv_timeout(TIMEOUT).expect("a CONNECT");
        assert!(head.starts_with(&format!("CONNECT {} HTTP/1.1\r\n", &url[5..url.len() - 1])), "{runtime}: {head}");

        let finished = run_command(&mut client_from_env(&url, runtime, &guarded), "Balse\n", false, TIMEOUT);
        assert_failed(&finished, &[expected], runtime);
        assert!(heads.recv_timeout(TIMEOUT).expect("a CONNECT").starts_with("CONNECT "), "{runtime}");
    }
}

#[test]
fn proxy_tunnels_with_and_without_credentials() {
    let server = Server::echo();
    let url = format!("ws://{}/", server.addr);
    let (open, heads) = start_proxy(None);
    let (guarded, guarded_heads) = start_proxy(Some(MUSKA));
    let (open, guarded) = (format!("http://{open}"), format!("http://{guarded}"));
    for runtime in RUNTIMES {
        assert_echoed(&client(&[&url, "--runtime", runtime, "--proxy", &open], "Balse\n"), "Balse\n", runtime);
        let head = heads.recv_timeout(TIMEOUT).expect("a CONNECT");
        assert!(head.starts_with(&format!("CONNECT {} HTTP/1.1\r\n", server.addr)), "{runtime}: {head}");

        let args = [url.as_str(), "--runtime", runtime, "--proxy", &guarded, "--proxy-user", "muska"];
        let finished = client(&[&args[..], &["--proxy-password", "balse"]].concat(), "Balse\n");
        assert_echoed(&finished, "Balse\n", runtime);
        let finished = client(&[&args[..], &["--proxy-password", "wrong"]].concat(), "Balse\n");
        assert_failed(&finished, &["407", "the proxy credentials were refused"], runtime);
        let authorized = guarded_heads.try_iter().filter(|head| head.contains(MUSKA)).count();
        assert_eq!(authorized, 1, "{runtime}: one CONNECT with the right credentials");

        let finished = run_command(&mut client_from_env(&url, runtime, &open), "Balse\n", false, TIMEOUT);
        assert_echoed(&finished, "Balse\n", runtime);
        assert!(heads.recv_timeout(TIMEOUT).expect("a CONNECT").starts_with("CONNECT "), "{runtime}");
    }
}

/// A CA, and a certificate it issued for `localhost` and `127.0.0.1`: the CA's PEM and a
/// server configuration presenting the certificate.
fn pki() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().expect("a key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "laputa examples CA");
    let ca_pem = ca_params.self_signed(&ca_key).expect("the CA").pem();
    let ca = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("a key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("names");
    let cert = params.signed_by(&key, &ca).expect("a certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("a server configuration");
    (ca_pem, Arc::new(config))
}

#[test]
fn wss_with_a_ca_file_or_insecure() {
    let (ca_pem, config) = pki();
    let ca = out_dir("examples-client-tls").join("ca.pem");
    std::fs::write(&ca, ca_pem).expect("ca.pem written");
    let ca = ca.to_str().expect("a UTF-8 path");
    let server = Server::start(Some(config), None, |_| Ok(Accept::new()));
    let url = format!("wss://localhost:{}/", server.addr.port());
    for runtime in RUNTIMES {
        assert_echoed(&client(&[&url, "--runtime", runtime, "--ca", ca], "Balse\n"), "Balse\n", runtime);

        // Not trusted without it: refused, with the way out named.
        let finished = client(&[&url, "--runtime", runtime], "Balse\n");
        let line = finished.stderr.lines().last().unwrap_or_default().to_owned();
        assert_eq!(finished.status.code(), Some(1), "{runtime}: {}", finished.stderr);
        for part in ["client: the server's certificate is refused", "UnknownIssuer", "--ca FILE"] {
            assert!(line.contains(part), "{runtime}: no {part:?} in {line:?}");
        }

        let finished = client(&[&url, "--runtime", runtime, "--insecure"], "Balse\n");
        assert!(finished.status.success(), "{runtime}: {}", finished.stderr);
        assert_eq!(finished.stdout, "Balse\n", "{runtime}");
        assert!(finished.stderr.starts_with("client: warning: --insecure"), "{runtime}: {}", finished.stderr);
    }
    let missing = client(&[&url, "--ca", "/nonexistent/ca.pem"], "");
    assert_failed(&missing, &["--ca /nonexistent/ca.pem: "], "a missing CA file");
}
