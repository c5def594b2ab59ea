//! websocket-sharp's Example2 server on `laputa::server`: four services by path, 404 elsewhere.
//!
//! `services [--addr HOST:PORT] [--runtime tokio|smol|async-std] [--allow-origin ORIGIN]...
//! [--auth basic|digest|basic-digest --user NAME:PASSWORD...] [--tls-cert FILE --tls-key FILE]`
//! (default address 127.0.0.1:4649; `--help` describes each flag). It prints
//! `services listening on ws://ADDR` once it listens, and serves until it is killed:
//!
//! - `/Laputa` answers "BALUS" with "Are you kidding? I've been balused already..." and
//!   anything else with "I'm not available now.".
//! - `/Echo` sends every message back.
//! - `/Chat` sends `NAME: TEXT` to every session of the service, the sender included; `NAME` is
//!   the `?name=` of the session's URL, else `anon#N`. When a session ends the others are told
//!   `NAME got logged off...`. It speaks the subprotocol `chat` when the client offers it.
//! - `/ChatWithNyan` is `/Chat` with " Nyan!" after every message.
//!
//! `--allow-origin` refuses requests whose `Origin` is another one with `403` (requests without
//! `Origin`, from non-browser clients, are served); `--auth` asks every request for
//! credentials (Basic, Digest, or both offered) of a `--user`, with `401` until they are right.
//! `--tls-cert` and `--tls-key` (both or neither) serve `wss://` with rustls; a client's TLS
//! handshake must complete within the handshake timeout.

use clap::{Parser, ValueEnum};
use laputa::core::auth::ServerAuth;
use laputa::core::server::{Admission, UserSecret};
use laputa::server::{Behavior, Server, ServerRuntime, Service, Session};
use laputa::{Closed, Message};
use laputa_examples::{fail, run_async};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Serves websocket-sharp's example services: /Laputa, /Echo, /Chat and /ChatWithNyan.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:4649")]
    addr: String,
    /// The runtime to serve on.
    #[arg(long, value_enum, default_value_t)]
    runtime: AsyncRuntime,
    /// Serve browsers from this Origin only (repeatable): another Origin gets 403; requests
    /// without one (non-browser clients) are served.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Ask every request for the credentials of a `--user`, with this scheme.
    #[arg(long, value_enum, requires = "user")]
    auth: Option<AuthScheme>,
    /// A user that `--auth` lets in (repeatable).
    #[arg(long, value_name = "NAME:PASSWORD", value_parser = parse_user, requires = "auth")]
    user: Vec<(String, String)>,
    /// The certificate chain (PEM) to serve wss:// with; needs `--tls-key`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// The runtimes the server runs on (it has no blocking form).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum AsyncRuntime {
    /// tokio's multi-threaded runtime.
    #[default]
    Tokio,
    /// smol, its tasks on smol's global executor.
    Smol,
    /// async-std (discontinued upstream; smol is the maintained choice).
    AsyncStd,
}

/// The `--auth` schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthScheme {
    /// Basic (RFC 7617): the password in every request; use it over TLS only.
    Basic,
    /// Digest (RFC 7616), SHA-256 and MD5 offered.
    Digest,
    /// Both challenges; the client picks the strongest it knows.
    BasicDigest,
}

/// Parses `--user NAME:PASSWORD`: a usage error without `:` or without a name.
fn parse_user(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.to_owned(), password.to_owned())),
        Some(_) => Err("the user has no name (NAME:PASSWORD)".to_owned()),
        None => Err("no ':' between the user's name and password (NAME:PASSWORD)".to_owned()),
    }
}

fn main() {
    let flags = Flags::parse();
    laputa_examples::init_logging();
    let tls = match (&flags.tls_cert, &flags.tls_key) {
        (Some(cert), Some(key)) => Some(
            laputa::tls::TlsAcceptor::from_pem_files(cert, key)
                .unwrap_or_else(|e| fail(format!("--tls-cert {} --tls-key {}: {e}", cert.display(), key.display()))),
        ),
        _ => None,
    };
    let admission = admission(&flags);
    let runtime = match flags.runtime {
        AsyncRuntime::Tokio => laputa_examples::Runtime::Tokio,
        AsyncRuntime::Smol => laputa_examples::Runtime::Smol,
        AsyncRuntime::AsyncStd => laputa_examples::Runtime::AsyncStd,
    };
    run_async!(runtime, serve(&flags.addr, admission, tls));
}

/// What every service checks: the Origin and the credentials the flags ask for.
fn admission(flags: &Flags) -> Admission {
    let mut admission = Admission::new();
    if !flags.allow_origin.is_empty() {
        let allowed = flags.allow_origin.clone();
        admission = admission.origin(move |origin| origin.is_none_or(|origin| allowed.iter().any(|a| a == origin)));
    }
    if let Some(scheme) = flags.auth {
        const REALM: &str = "laputa services";
        let mut secret = [0; 32];
        laputa::core::Rng::os().fill(&mut secret);
        let auth = match scheme {
            AuthScheme::Basic => ServerAuth::basic(REALM),
            AuthScheme::Digest => ServerAuth::digest(REALM, &secret),
            AuthScheme::BasicDigest => ServerAuth::basic_and_digest(REALM, &secret),
        };
        let users: HashMap<String, String> = flags.user.iter().cloned().collect();
        admission = admission.auth(auth, move |name| users.get(name).map(UserSecret::password));
    }
    admission
}

async fn serve<R: ServerRuntime>(addr: &str, admission: Admission, tls: Option<laputa::tls::TlsAcceptor>) {
    let chat =
        |suffix: &'static str| Service::new(move || Chat::new(suffix)).admission(admission.clone().protocols(["chat"]));
    let services = [
        ("/Laputa", Service::new(|| Laputa).admission(admission.clone())),
        ("/Echo", Service::new(|| Echo).admission(admission.clone())),
        ("/Chat", chat("")),
        ("/ChatWithNyan", chat(" Nyan!")),
    ];
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let mut builder = Server::builder().bind(addr);
    if let Some(acceptor) = tls {
        builder = builder.tls(acceptor);
    }
    for (path, service) in services {
        builder = builder.service(path, service).unwrap_or_else(|e| fail(format!("{path}: {e}")));
    }
    let server = builder.start::<R>().await.unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("services listening on {scheme}://{}", server.local_addr());
    // Serves until the process is killed: this future never ends.
    std::future::pending::<()>().await;
}

/// websocket-sharp's `Laputa`.
struct Laputa;

impl Behavior for Laputa {
    fn on_message(&mut self, session: &Session, message: Message) {
        let reply = if message.as_text() == Some("BALUS") {
            "Are you kidding? I've been balused already..."
        } else {
            "I'm not available now."
        };
        session.send(reply);
    }
}

/// websocket-sharp's `Echo`.
struct Echo;

impl Behavior for Echo {
    fn on_message(&mut self, session: &Session, message: Message) {
        session.send(message);
    }
}

/// websocket-sharp's `Chat`: every message to every session of the service, with the
/// sender's name before it and the service's suffix after it.
struct Chat {
    name: Arc<str>,
    suffix: &'static str,
}

impl Chat {
    fn new(suffix: &'static str) -> Self {
        Self { name: Arc::from(""), suffix }
    }
}

/// Numbers the sessions that gave no `?name=` (`anon#1`, `anon#2`, ...).
static ANONYMOUS: AtomicUsize = AtomicUsize::new(0);

impl Behavior for Chat {
    fn on_open(&mut self, session: &Session) {
        let name = session.context().query_param("name").filter(|name| !name.is_empty());
        let name = name.unwrap_or_else(|| format!("anon#{}", ANONYMOUS.fetch_add(1, Ordering::Relaxed) + 1));
        self.name = name.into();
    }

    fn on_message(&mut self, session: &Session, message: Message) {
        let text = String::from_utf8_lossy(message.payload());
        session.sessions().broadcast(format!("{}: {text}{}", self.name, self.suffix));
    }

    fn on_close(&mut self, session: &Session, _: &Closed) {
        session.sessions().broadcast(format!("{} got logged off...", self.name));
    }
}
