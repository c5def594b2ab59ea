//! Echoes every text and binary message on every path.
//!
//! `echo_server [--addr HOST:PORT] [--runtime blocking] [--deflate]` (default address 127.0.0.1:9001).
//! `--deflate` accepts permessage-deflate offers. Limits are raised to 64 MiB so that the Autobahn TestSuite's large cases run.

use laputa::{blocking, Accept};
use laputa_examples::{conformance_config, fail, Args};
use std::net::{TcpListener, TcpStream};

fn main() {
    let args = Args::parse(&["deflate"]);
    let addr = args.value("addr").unwrap_or("127.0.0.1:9001");
    args.runtime().unwrap_or_else(|e| fail(e));
    let deflate = args.switch("deflate");
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    println!("echo_server listening on ws://{}", listener.local_addr().map_or(addr.to_owned(), |a| a.to_string()));
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || serve(stream, deflate));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn serve(stream: TcpStream, deflate: bool) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = blocking::accept_with(stream, conformance_config(deflate), |_| Ok(Accept::default())) else {
        return;
    };
    while let Ok(message) = ws.read() {
        if ws.send(message).is_err() {
            break;
        }
    }
}
