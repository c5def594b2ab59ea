//! `chat --addr HOST:PORT [--runtime tokio|smol|async-std|blocking] [--tls-cert FILE --tls-key FILE]
//! [--redis URL [--node ID]]`: the chat page and its room on one port (issue 20); with `--redis`,
//! one room across every `chat` that shares the Redis (issue 21, on tokio). `/` serves the page (`examples/chat/`:
//! HTML, CSS and JavaScript, no CDN) from the server's document root, `/chat` is the room
//! (`?name=`, join and leave notices, every line to everyone: `laputa_examples::chat`), `/echo`
//! echoes. It prints the URL to open; the default address is `127.0.0.1:4649`.

use clap::{CommandFactory, Parser, ValueEnum};
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
    /// A Redis (`redis://[:PASSWORD@]HOST:PORT/`) shared with other `chat` processes: the room
    /// and the echo span them all (tokio only).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// This node's id in the cluster (random by default).
    #[arg(long, value_name = "ID", requires = "redis")]
    node: Option<String>,
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
    if flags.redis.is_some() {
        if flags.runtime != ServerKind::Tokio {
            let message = "--redis runs on --runtime tokio (the redis crate's runtime here)";
            Flags::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit();
        }
        return laputa_examples::block_on_tokio(serve_clustered(&flags, tls));
    }
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

/// The page and the room on tokio, the room and the echo spanning every node of the Redis.
async fn serve_clustered(flags: &Flags, tls: Option<laputa::tls::TlsAcceptor>) {
    let url = flags.redis.as_deref().unwrap_or_default();
    let mut cluster = laputa::cluster::Cluster::builder(url).prefix("chat");
    if let Some(node) = &flags.node {
        cluster = cluster.node(node);
    }
    let cluster =
        cluster.on_gap(|gap| eprintln!("chat: {gap}")).start().unwrap_or_else(|e| fail(format!("--redis {url}: {e}")));
    let scheme = scheme(&tls);
    let addr = &flags.addr;
    let server = builder(addr, tls)
        .cluster(&cluster)
        .start::<laputa::tokio::Tokio>()
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("chat: open {scheme}://{}/ (node {} of the cluster at {url})", server.local_addr(), cluster.node());
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
