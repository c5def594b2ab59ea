//! Echoes every text and binary message on every path.
//!
//! `echo_server [--addr HOST:PORT] [--runtime blocking|tokio|smol|async-std] [--deflate]
//! [--tls-cert FILE --tls-key FILE]` (default address 127.0.0.1:9001; `--help` lists the
//! flags). `--deflate` accepts permessage-deflate offers. `--tls-cert` and `--tls-key` (both or
//! neither: a PEM certificate chain, the server's certificate first, and its private key) serve
//! `wss://` with rustls on every runtime; a client's TLS handshake must complete within the
//! handshake timeout (10 s). It prints `echo_server listening on ws://ADDR` (or `wss://ADDR`)
//! once it listens.
//! Limits are raised to 64 MiB so that the Autobahn TestSuite's large cases run. The library's
//! defaults stand otherwise: keepalive (a ping after 20 s without input, the peer gone 20 s
//! later) and the 30 s write-stall deadline, which the Autobahn cases never reach (none is
//! quiet or unread for that long).

use clap::Parser;
use laputa::runtime::{self, RuntimeIo, ServerTransport};
use laputa::tls::TlsAcceptor;
use laputa::{blocking, Accept, Config};
use laputa_examples::{conformance_config, fail, run_async, Runtime, ServerFlags};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Instant;

/// Echoes every text and binary message on every path.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
    /// The runtime to serve on.
    #[arg(long, value_enum, default_value_t)]
    runtime: Runtime,
    /// Serve wss:// with this certificate chain (PEM: the server's certificate, then its
    /// intermediates); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn main() {
    let flags = Flags::parse();
    laputa_examples::init_logging();
    let addr = flags.server.addr.as_str();
    let config = conformance_config(flags.server.deflate);
    let tls = match (&flags.tls_cert, &flags.tls_key) {
        (Some(cert), Some(key)) => Some(TlsAcceptor::from_pem_files(cert, key).unwrap_or_else(|e| fail(e))),
        _ => None,
    };
    match flags.runtime {
        Runtime::Blocking => serve_blocking(addr, config, tls),
        runtime => run_async!(runtime, serve_async(addr, config, tls)),
    }
}

/// What the server prints once it listens.
fn listening(addr: String, tls: &Option<TlsAcceptor>) {
    println!("echo_server listening on {}://{addr}", if tls.is_some() { "wss" } else { "ws" });
}

fn serve_blocking(addr: &str, config: Config, tls: Option<TlsAcceptor>) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    listening(listener.local_addr().map_or(addr.to_owned(), |a| a.to_string()), &tls);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let (config, tls) = (config.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let Some(tls) = tls else { return echo_blocking(stream, config) };
                    let deadline = Instant::now() + config.handshake_timeout;
                    match tls.accept_blocking(stream, Some(deadline)) {
                        Ok(stream) => echo_blocking(stream, config),
                        Err(e) => eprintln!("TLS handshake failed: {e}"),
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn echo_blocking(stream: impl blocking::Stream, config: Config) {
    let Ok(mut ws) = blocking::accept_with(stream, config, |_| Ok(Accept::default())) else { return };
    // `feed` queues the echo; `read` writes everything queued before it waits, so the
    // answers to one read leave in one write.
    while let Ok(message) = ws.read() {
        if ws.feed(message).is_err() {
            break;
        }
    }
}

async fn serve_async<R: ServerTransport>(addr: &str, config: Config, tls: Option<TlsAcceptor>) {
    let listener = R::bind(addr).await.unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    listening(R::local_addr(&listener).map_or(addr.to_owned(), |a| a.to_string()), &tls);
    loop {
        let stream = match R::accept(&listener).await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let config = config.clone();
        match &tls {
            None => drop(R::spawn(echo_async::<_, R>(stream, config))),
            Some(tls) => {
                let tls = tls.clone();
                drop(R::spawn(async move {
                    let deadline = Instant::now() + config.handshake_timeout;
                    match R::tls_accept(&tls, stream, Some(deadline)).await {
                        Ok(stream) => echo_async::<_, R>(stream, config).await,
                        Err(e) => eprintln!("TLS handshake failed: {e}"),
                    }
                }));
            }
        }
    }
}

async fn echo_async<S, R: RuntimeIo<S>>(stream: S, config: Config) {
    let accepted = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::default())).await;
    let Ok(mut ws) = accepted else { return };
    // `feed` queues the echo; `recv` writes everything queued before it waits for the socket,
    // so all the answers to one read go out in one write.
    while let Ok(message) = ws.recv().await {
        if ws.feed(message).await.is_err() {
            break;
        }
    }
}
