//! Echoes every text and binary message on every path.
//!
//! `echo_server [--addr HOST:PORT] [--runtime blocking|tokio|smol|async-std] [--deflate]`
//! (default address 127.0.0.1:9001; `--help` lists the flags). `--deflate` accepts
//! permessage-deflate offers. It prints `echo_server listening on ws://ADDR` once it listens.
//! Limits are raised to 64 MiB so that the Autobahn TestSuite's large cases run. The library's
//! defaults stand otherwise: keepalive (a ping after 20 s without input, the peer gone 20 s
//! later) and the 30 s write-stall deadline, which the Autobahn cases never reach (none is
//! quiet or unread for that long).

use clap::Parser;
use laputa::runtime::{self, TcpRuntime};
use laputa::{blocking, Accept, Config};
use laputa_examples::{conformance_config, fail, run_async, Runtime, ServerFlags};
use std::net::{TcpListener, TcpStream};

/// Echoes every text and binary message on every path.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
    /// The runtime to serve on.
    #[arg(long, value_enum, default_value_t)]
    runtime: Runtime,
}

fn main() {
    let flags = Flags::parse();
    laputa_examples::init_logging();
    let addr = flags.server.addr.as_str();
    let config = conformance_config(flags.server.deflate);
    match flags.runtime {
        Runtime::Blocking => serve_blocking(addr, config),
        runtime => run_async!(runtime, serve_async(addr, config)),
    }
}

fn serve_blocking(addr: &str, config: Config) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("echo_server listening on ws://{}", listener.local_addr().map_or(addr.to_owned(), |a| a.to_string()));
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let config = config.clone();
                std::thread::spawn(move || echo_blocking(stream, config));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn echo_blocking(stream: TcpStream, config: Config) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = blocking::accept_with(stream, config, |_| Ok(Accept::default())) else { return };
    // `feed` queues the echo; `read` writes everything queued before it waits, so the
    // answers to one read leave in one write.
    while let Ok(message) = ws.read() {
        if ws.feed(message).is_err() {
            break;
        }
    }
}

async fn serve_async<R: TcpRuntime>(addr: &str, config: Config) {
    let listener = R::bind(addr).await.unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("echo_server listening on ws://{}", R::local_addr(&listener).map_or(addr.to_owned(), |a| a.to_string()));
    loop {
        match R::accept(&listener).await {
            Ok((stream, _)) => drop(R::spawn(echo_async::<R>(stream, config.clone()))),
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

async fn echo_async<R: TcpRuntime>(stream: R::TcpStream, config: Config) {
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
