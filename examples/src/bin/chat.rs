//! `chat --addr HOST:PORT [--runtime tokio|smol|async-std|blocking] [--tls-cert FILE --tls-key FILE]`:
//! the chat page and its room on one port (issue 20). `/` serves the page (`examples/chat/`:
//! HTML, CSS and JavaScript, no CDN) from the server's document root, `/chat` is the room
//! (`?name=`, join and leave notices, every line to everyone: `laputa_examples::chat`), `/echo`
//! echoes. It prints the URL to open; the default address is `127.0.0.1:4649`.

use clap::{Parser, ValueEnum};
use laputa::server::{Server, ServerBuilder, ServerRuntime};
use laputa_examples::chat::{chat_service, echo_service};
use laputa_examples::{fail, run_async};
use std::path::PathBuf;

/// Serves the chat page at `/`, the chat room at `/chat` and an echo at `/echo`.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:4649")]
    addr: String,
    /// The runtime to serve on.
    #[arg(long, value_enum, default_value_t)]
    runtime: ServerKind,
    /// The certificate chain (PEM) to serve https:// and wss:// with; needs `--tls-key`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// The runtimes the example serves on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum ServerKind {
    /// tokio's multi-threaded runtime.
    #[default]
    Tokio,
    /// smol, its tasks on smol's global executor.
    Smol,
    /// async-std (discontinued upstream; smol is the maintained choice).
    AsyncStd,
    /// No runtime: the blocking server, a thread per connection.
    Blocking,
}

/// Where the page's files are: `examples/chat/` of this crate.
const PAGE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chat");

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
    let runtime = match flags.runtime {
        ServerKind::Tokio => laputa_examples::Runtime::Tokio,
        ServerKind::Smol => laputa_examples::Runtime::Smol,
        ServerKind::AsyncStd => laputa_examples::Runtime::AsyncStd,
        ServerKind::Blocking => return serve_blocking(&flags.addr, tls),
    };
    run_async!(runtime, serve(&flags.addr, tls));
}

/// The page, the room and the echo, on any server.
fn builder(addr: &str, tls: Option<laputa::tls::TlsAcceptor>) -> ServerBuilder {
    let mut builder = Server::builder().bind(addr);
    if let Some(acceptor) = tls {
        builder = builder.tls(acceptor);
    }
    builder
        .document_root(PAGE_DIR)
        .unwrap_or_else(|e| fail(format!("{PAGE_DIR}: {e}")))
        .service("/chat", chat_service())
        .and_then(|builder| builder.service("/echo", echo_service()))
        .unwrap_or_else(|e| fail(e))
}

fn scheme(tls: &Option<laputa::tls::TlsAcceptor>) -> &'static str {
    if tls.is_some() {
        "https"
    } else {
        "http"
    }
}

async fn serve<R: ServerRuntime>(addr: &str, tls: Option<laputa::tls::TlsAcceptor>) {
    let scheme = scheme(&tls);
    let server =
        builder(addr, tls).start::<R>().await.unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("chat: open {scheme}://{}/", server.local_addr());
    // Serves until the process is killed: this future never ends.
    std::future::pending::<()>().await;
}

fn serve_blocking(addr: &str, tls: Option<laputa::tls::TlsAcceptor>) {
    let scheme = scheme(&tls);
    let server = builder(addr, tls).start_blocking().unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("chat: open {scheme}://{}/", server.local_addr());
    // Serves until the process is killed, on the server's own threads.
    loop {
        std::thread::park();
    }
}
