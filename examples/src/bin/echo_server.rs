//! Echoes every text and binary message on every path.
//!
//! `echo_server [--addr HOST:PORT] [--runtime blocking|tokio|smol|async-std]` (default address
//! 127.0.0.1:9001). Limits are raised to 64 MiB so that the Autobahn TestSuite's large cases run.

use laputa::runtime::{self, TcpRuntime};
use laputa::{blocking, Accept};
use laputa_examples::{conformance_config, fail, run_async, Args};
use std::net::{TcpListener, TcpStream};

fn main() {
    let args = Args::parse(&["deflate"]);
    let addr = args.value("addr").unwrap_or("127.0.0.1:9001");
    match args.runtime().unwrap_or_else(|e| fail(e)) {
        "blocking" => serve_blocking(addr),
        name => run_async!(name, serve_async(addr)),
    }
}

fn serve_blocking(addr: &str) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("echo_server listening on ws://{}", listener.local_addr().map_or(addr.to_owned(), |a| a.to_string()));
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || echo_blocking(stream));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn echo_blocking(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = blocking::accept_with(stream, conformance_config(), |_| Ok(Accept::default())) else { return };
    while let Ok(message) = ws.read() {
        if ws.send(message).is_err() {
            break;
        }
    }
}

async fn serve_async<R: TcpRuntime>(addr: &str) {
    let listener = R::bind(addr).await.unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("echo_server listening on ws://{}", R::local_addr(&listener).map_or(addr.to_owned(), |a| a.to_string()));
    loop {
        match R::accept(&listener).await {
            Ok((stream, _)) => drop(R::spawn(echo_async::<R>(stream))),
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

async fn echo_async<R: TcpRuntime>(stream: R::TcpStream) {
    let accepted = runtime::accept_with::<_, R, _>(stream, conformance_config(), |_| Ok(Accept::default())).await;
    let Ok(mut ws) = accepted else { return };
    while let Ok(message) = ws.recv().await {
        if ws.send(message).await.is_err() {
            break;
        }
    }
}
