//! A line-oriented WebSocket client.
//!
//! `client URL [--runtime blocking|tokio|smol|async-std] [--deflate]` (`--help` lists the flags):
//! sends each line of stdin as a text message and prints each message received as a line on
//! stdout. At the end of stdin it closes with 1000, waits for the close handshake and exits 0; on
//! failure it prints `client: REASON` on stderr and exits 1 (2 for a usage error).

use clap::Parser;
use futures::{SinkExt, StreamExt};
use laputa::blocking::Stream as _;
use laputa::runtime::{self, TcpRuntime};
use laputa::{blocking, ClientRequest, CloseCode, Config, DeflateConfig, Message};
use laputa_examples::{fail, run_async, Runtime};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Sends each line of stdin as a text message and prints each message received as a line.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    /// The server's URL (`ws://`).
    url: String,
    /// Offer permessage-deflate (RFC 7692).
    #[arg(long)]
    deflate: bool,
    /// The runtime to run on.
    #[arg(long, value_enum, default_value_t)]
    runtime: Runtime,
}

fn main() {
    let flags = Flags::parse();
    laputa_examples::init_logging();
    let request = ClientRequest::new(&flags.url).unwrap_or_else(|e| fail(e));
    let mut config = Config::default();
    config.deflate = flags.deflate.then(DeflateConfig::default);
    match flags.runtime {
        Runtime::Blocking => run_blocking(request, config),
        runtime => run_async!(runtime, run(request, config)),
    }
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

fn run_blocking(request: ClientRequest, config: Config) {
    let (mut ws, _) = blocking::connect_with(request, config).unwrap_or_else(|e| fail(e));
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
                Ok(line) => ws.send(Message::from(line)).unwrap_or_else(|e| fail(e)),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    // End of input: close, and keep printing what the server sent before its close.
                    ws.get_mut().set_read_timeout(None).unwrap_or_else(|e| fail(e));
                    ws.send_close(CloseCode::NORMAL, "").unwrap_or_else(|e| fail(e));
                    closing = true;
                }
            }
        }
        match ws.read() {
            Ok(message) => print(&message),
            Err(e) if e.is_timeout() => {}
            Err(laputa::Error::Closed(closed)) if closing && closed.clean => return,
            Err(e) => fail(e),
        }
    }
}

/// The same on an async runtime: the halves of the connection in two tasks, stdin read on a
/// thread of its own and handed over through a bounded channel.
async fn run<R: TcpRuntime>(request: ClientRequest, config: Config) {
    let (ws, _) = runtime::connect_with::<R>(request, config).await.unwrap_or_else(|e| fail(e));
    let (mut reader, mut writer) = ws.split();
    let closing = Arc::new(AtomicBool::new(false));
    let printing = {
        let closing = closing.clone();
        R::spawn(async move {
            loop {
                match reader.recv().await {
                    Ok(message) => print(&message),
                    Err(laputa::Error::Closed(closed)) if closing.load(Ordering::SeqCst) && closed.clean => return,
                    Err(e) => fail(e),
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
    while let Some(line) = lines.next().await {
        writer.send(Message::from(line)).await.unwrap_or_else(|e| fail(e));
    }
    // End of input: close, and keep printing what the server sent before its close.
    closing.store(true, Ordering::SeqCst);
    writer.close(CloseCode::NORMAL, "").await.unwrap_or_else(|e| fail(e));
    printing.await;
}
