//! A line-oriented WebSocket client.
//!
//! `client URL [--origin O] [--header 'NAME: VALUE']... [--cookie NAME=VALUE]... [--protocol P]...
//! [--user U --password P [--preauth]] [--proxy URL [--proxy-user U --proxy-password P] |
//! --proxy-from-env] [--ca FILE]... [--insecure] [--follow-redirects] [--deflate]
//! [--runtime blocking|tokio|smol|async-std]` (`--help` describes each flag): connects to `URL`
//! (`ws://` or `wss://`), sends each line of stdin as a text message and prints each message
//! received as a line on stdout. At the end of stdin it closes with 1000, waits for the close
//! handshake and exits 0; it exits 0 too when the server closes cleanly with 1000. On any
//! failure it prints one line `client: REASON` on stderr and exits 1; a usage error (an unknown
//! flag, `--user` without `--password`, a header without `: `) is clap's, with status 2.

use clap::Parser;
use futures::future::{self, Either};
use futures::{SinkExt, StreamExt};
use laputa::blocking::Stream as _;
use laputa::core::connect::DEFAULT_MAX_REDIRECTS;
use laputa::http::{HeaderName, HeaderValue};
use laputa::runtime::{self, TcpRuntime};
use laputa::tls::TlsConnector;
use laputa::{blocking, ClientBuilder, CloseCode, Closed, Config, DeflateConfig, Error, Message};
use laputa_examples::{fail, run_async, Runtime};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Connects to a WebSocket server, sends each line of stdin as a text message and prints each
/// message received as a line. Exits 1 with one line `client: REASON` on any failure.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    /// The server's URL: `ws://HOST[:PORT]/PATH` or `wss://...` (TLS).
    url: String,
    /// The `Origin` header of the upgrade request.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// A cookie to send to the URL's host (repeatable); cookies the server sets on the way
    /// (redirects included) are kept and sent where they match.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_cookie)]
    cookie: Vec<Cookie>,
    /// A header to add to the upgrade request (repeatable), not one the handshake sets itself.
    #[arg(long, value_name = "'NAME: VALUE'", value_parser = parse_header)]
    header: Vec<Header>,
    /// A subprotocol to offer (repeatable, in order of preference).
    #[arg(long, value_name = "PROTOCOL")]
    protocol: Vec<String>,
    /// The user name to answer the server's `401` with (Basic or Digest); needs `--password`.
    #[arg(long, value_name = "USER", requires = "password")]
    user: Option<String>,
    /// The password that goes with `--user`.
    #[arg(long, value_name = "PASSWORD", requires = "user")]
    password: Option<String>,
    /// Send Basic credentials with the first request instead of waiting for a `401`.
    #[arg(long, requires = "user")]
    preauth: bool,
    /// Connect through this HTTP proxy with `CONNECT`: `http://[USER:PASSWORD@]HOST[:PORT]`.
    #[arg(long, value_name = "URL", conflicts_with = "proxy_from_env")]
    proxy: Option<String>,
    /// The user name to answer the proxy's `407` with; needs `--proxy` and `--proxy-password`.
    #[arg(long, value_name = "USER", requires_all = ["proxy", "proxy_password"])]
    proxy_user: Option<String>,
    /// The password that goes with `--proxy-user`.
    #[arg(long, value_name = "PASSWORD", requires = "proxy_user")]
    proxy_password: Option<String>,
    /// Take the proxy from `HTTPS_PROXY` (wss), `HTTP_PROXY` (ws), `ALL_PROXY` and `NO_PROXY`.
    #[arg(long)]
    proxy_from_env: bool,
    /// Trust the CA certificates of this PEM file for `wss://`, besides the platform's roots
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Accept any server certificate, expired, self-signed or for another name (with a
    /// warning): anyone on the path can then read and change the traffic. For tests only.
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Follow redirects (up to 10; never from `wss://` to `ws://`).
    #[arg(long)]
    follow_redirects: bool,
    /// Offer permessage-deflate (RFC 7692).
    #[arg(long)]
    deflate: bool,
    /// The runtime to run on.
    #[arg(long, value_enum, default_value_t)]
    runtime: Runtime,
}

/// A `--cookie NAME=VALUE`.
#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
}

/// Parses `--cookie NAME=VALUE`: a usage error without `=` or without a name.
fn parse_cookie(text: &str) -> Result<Cookie, String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok(Cookie { name: name.trim().to_owned(), value: value.trim().to_owned() })
        }
        Some(_) => Err("the cookie has no name (NAME=VALUE)".to_owned()),
        None => Err("no '=' between the cookie's name and value (NAME=VALUE)".to_owned()),
    }
}

/// A `--header 'NAME: VALUE'`.
#[derive(Debug, Clone)]
struct Header {
    name: HeaderName,
    value: HeaderValue,
}

/// Parses `--header 'NAME: VALUE'`: a usage error without `: `, or with a name or value that
/// HTTP does not allow (RFC 9110 section 5: a token; no control characters in the value).
fn parse_header(text: &str) -> Result<Header, String> {
    let (name, value) = text.split_once(": ").ok_or("no ': ' between the header's name and value ('NAME: VALUE')")?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| format!("{name:?} is not a header name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| format!("{value:?} is not a header value"))?;
    Ok(Header { name, value })
}

fn main() {
    let flags = Flags::parse();
    laputa_examples::init_logging();
    if flags.insecure {
        eprintln!(
            "client: warning: --insecure: the server's certificate is not checked, so anyone on the path \
             can read and change the traffic"
        );
    }
    let builder = builder(&flags);
    let failure = Failure {
        user: flags.user.is_some(),
        proxy_user: flags.proxy_user.is_some(),
        follow_redirects: flags.follow_redirects,
    };
    match flags.runtime {
        Runtime::Blocking => run_blocking(builder, &failure),
        runtime => run_async!(runtime, run(builder, &failure)),
    }
}

/// The connect the flags ask for; fails on a URL, proxy URL or CA file that is not usable.
fn builder(flags: &Flags) -> ClientBuilder {
    let mut builder = ClientBuilder::new(&flags.url).unwrap_or_else(|e| fail(format!("{}: {e}", flags.url)));
    if let Some(origin) = &flags.origin {
        builder = builder.origin(origin);
    }
    for header in &flags.header {
        builder = builder.header(header.name.clone(), header.value.clone());
    }
    for cookie in &flags.cookie {
        builder = builder.cookie(&cookie.name, &cookie.value);
    }
    for protocol in &flags.protocol {
        builder = builder.protocol(protocol);
    }
    if let (Some(user), Some(password)) = (&flags.user, &flags.password) {
        builder = builder.credentials(user, password, flags.preauth);
    }
    if let Some(proxy) = &flags.proxy {
        builder = builder.proxy(proxy).unwrap_or_else(|e| match e {
            Error::Io(e) => fail(format!("--proxy {proxy}: {e}")),
            e => fail(format!("--proxy {proxy}: {e}")),
        });
    }
    if let (Some(user), Some(password)) = (&flags.proxy_user, &flags.proxy_password) {
        builder = builder.proxy_credentials(user, password);
    }
    if flags.proxy_from_env {
        builder = builder.proxy_from_env();
    }
    if flags.follow_redirects {
        builder = builder.follow_redirects(DEFAULT_MAX_REDIRECTS);
    }
    if flags.insecure || !flags.ca.is_empty() {
        builder = builder.tls(tls(flags));
    }
    let mut config = Config::default();
    config.deflate = flags.deflate.then(DeflateConfig::default);
    builder.config(config)
}

/// The TLS settings of `--ca` and `--insecure`.
fn tls(flags: &Flags) -> TlsConnector {
    let mut tls = TlsConnector::builder();
    for file in &flags.ca {
        let pem = std::fs::read(file).unwrap_or_else(|e| fail(format!("--ca {}: {e}", file.display())));
        tls = tls.add_roots_pem(&pem).unwrap_or_else(|e| fail(format!("--ca {}: {e}", file.display())));
    }
    if flags.insecure {
        tls = tls.danger_accept_any_certificate();
    }
    tls.build().unwrap_or_else(|e| fail(format!("TLS settings: {e}")))
}

/// What a failure's reason may point at: the flags that would change the outcome.
#[derive(Debug)]
struct Failure {
    user: bool,
    proxy_user: bool,
    follow_redirects: bool,
}

impl Failure {
    /// Prints why the connection failed, as one line `client: REASON`, and exits 1.
    fn exit(&self, error: Error) -> ! {
        fail(self.reason(&error))
    }

    /// The reason for `error`: for a refusal, the status and what the server or proxy said.
    fn reason(&self, error: &Error) -> String {
        match error {
            Error::Http(response) => {
                let mut reason = format!("server answered {} instead of 101", status(response.status()));
                let status = response.status().as_u16();
                if let Some(location) = response.headers().get(laputa::http::header::LOCATION) {
                    reason += &format!(", redirecting to {}", printable(location.as_bytes()));
                    if !self.follow_redirects {
                        reason += " (--follow-redirects follows it)";
                    }
                } else if status == 401 {
                    let challenge = response.headers().get(laputa::http::header::WWW_AUTHENTICATE);
                    reason += match self.user {
                        true => ": the credentials were refused",
                        false => ": it asks for credentials (--user, --password)",
                    };
                    if let Some(challenge) = challenge {
                        reason += &format!(" ({})", printable(challenge.as_bytes()));
                    }
                }
                reason + &body(response.body())
            }
            Error::Proxy(response) => {
                let mut reason = format!("proxy answered {} to CONNECT", status(response.status()));
                if response.status().as_u16() == 407 {
                    reason += match self.proxy_user {
                        true => ": the proxy credentials were refused",
                        false => ": it asks for credentials (--proxy-user, --proxy-password)",
                    };
                }
                reason + &body(response.body())
            }
            Error::Io(io) => match laputa::tls::rustls_error(io) {
                Some(laputa::tls::rustls::Error::InvalidCertificate(certificate)) => format!(
                    "the server's certificate is refused: {certificate:?} \
                     (--ca FILE trusts a CA; --insecure checks nothing)"
                ),
                Some(tls) => format!("TLS: {tls}"),
                None => error.to_string(),
            },
            Error::Closed(closed) => closed_reason(closed),
            _ => error.to_string(),
        }
    }
}

/// `401 Unauthorized`, or the code alone when it has no standard reason phrase.
fn status(status: laputa::http::StatusCode) -> String {
    match status.canonical_reason() {
        Some(phrase) => format!("{} {phrase}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// `: "the body's start"`, if it has text; nothing otherwise.
fn body(body: &[u8]) -> String {
    let text = printable(body);
    match text.is_empty() {
        true => String::new(),
        false => format!(": {text:?}"),
    }
}

/// At most 200 characters of `bytes` as text on one line: invalid UTF-8 replaced, control
/// characters (line breaks included) as spaces, runs of blanks as one.
fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line,
    }
}

/// Why a connection that was open ended.
fn closed_reason(closed: &Closed) -> String {
    let mut reason = format!("the connection closed with code {}", closed.code);
    if !closed.reason.is_empty() {
        reason += &format!(" ({})", printable(closed.reason.as_bytes()));
    }
    if let Some(error) = &closed.error {
        reason += &format!(": {error}");
    } else if !closed.clean {
        reason += " without a close handshake";
    }
    reason
}

/// Whether `closed` is the normal end of a session: the close handshake completed, after our
/// close (`closing`) or a normal one from the server.
fn normal_end(closed: &Closed, closing: bool) -> bool {
    closed.clean && (closing || closed.code == CloseCode::NORMAL)
}

/// Prints a received message as a line.
fn print(message: &Message) {
    let mut stdout = std::io::stdout().lock();
    match message {
        Message::Text(text) => writeln!(stdout, "{text}"),
        Message::Binary(bytes) => writeln!(stdout, "<{} bytes of binary>", bytes.len()),
    }
    .unwrap_or_else(|e| fail(e));
}

fn run_blocking(builder: ClientBuilder, failure: &Failure) {
    let (mut ws, _) = blocking::connect(builder).unwrap_or_else(|e| failure.exit(e));
    // Stdin is read on its own thread; the socket is polled with a short read timeout between lines.
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    ws.get_mut().set_read_timeout(Some(Duration::from_millis(20))).unwrap_or_else(|e| fail(e));
    let mut closing = false;
    loop {
        while !closing {
            match lines.try_recv() {
                Ok(line) => ws.send(Message::from(line)).unwrap_or_else(|e| failure.exit(e)),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    // End of input: close, and keep printing what the server sent before its close.
                    ws.get_mut().set_read_timeout(None).unwrap_or_else(|e| fail(e));
                    ws.send_close(CloseCode::NORMAL, "").unwrap_or_else(|e| failure.exit(e));
                    closing = true;
                }
            }
        }
        match ws.read() {
            Ok(message) => print(&message),
            Err(e) if e.is_timeout() => {}
            Err(Error::Closed(closed)) if normal_end(&closed, closing) => return,
            Err(e) => failure.exit(e),
        }
    }
}

/// The same on an async runtime: the halves of the connection in two tasks, stdin read on a
/// thread of its own and handed over through a bounded channel.
async fn run<R: TcpRuntime>(builder: ClientBuilder, failure: &Failure) {
    let (ws, _) = runtime::connect::<R>(builder).await.unwrap_or_else(|e| failure.exit(e));
    let (mut reader, mut writer) = ws.split();
    let closing = Arc::new(AtomicBool::new(false));
    let printing = {
        let closing = closing.clone();
        R::spawn(async move {
            loop {
                match reader.recv().await {
                    Ok(message) => print(&message),
                    Err(Error::Closed(closed)) if normal_end(&closed, closing.load(Ordering::SeqCst)) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        })
    };
    let (mut lines_tx, mut lines) = futures::channel::mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if futures::executor::block_on(lines_tx.send(line)).is_err() {
                break;
            }
        }
    });
    let sending = async {
        while let Some(line) = lines.next().await {
            writer.send(Message::from(line)).await?;
        }
        Ok::<_, Error>(())
    };
    // Until the end of input, or until the server closes (or the connection fails) first.
    let printing = match future::select(Box::pin(sending), Box::pin(printing)).await {
        Either::Left((sent, printing)) => {
            sent.unwrap_or_else(|e| failure.exit(e));
            printing
        }
        Either::Right((printed, _)) => return printed.unwrap_or_else(|e| failure.exit(e)),
    };
    // End of input: close, and keep printing what the server sent before its close.
    closing.store(true, Ordering::SeqCst);
    writer.close().await.unwrap_or_else(|e| failure.exit(e));
    printing.await.unwrap_or_else(|e| failure.exit(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_cookies_are_split_once_and_trimmed() {
        let header = parse_header("X-Note:  a: b ").expect("a header");
        assert_eq!((header.name.as_str(), header.value.to_str().ok()), ("x-note", Some("a: b")));
        assert!(parse_header("X-Note:b").is_err(), "no space after the colon");
        assert!(parse_header("X-Note: bell\u{7}").is_err(), "a control character");
        let cookie = parse_cookie("token=a=b").expect("a cookie");
        assert_eq!((cookie.name.as_str(), cookie.value.as_str()), ("token", "a=b"));
        assert!(parse_cookie("=b").is_err());
    }

    #[test]
    fn printable_is_one_short_line() {
        assert_eq!(printable(b"not\r\n\there\x00 \xff"), "not here \u{fffd}");
        let long = printable(&[b'a'; 300]);
        assert_eq!((long.len(), long.ends_with("a...")), (203, true));
        assert_eq!(printable("é".repeat(201).as_bytes()).chars().count(), 203);
    }
}
