//! A line-oriented WebSocket client.
//!
//! `client URL [--runtime blocking] [--deflate]`: sends each line of stdin as a text message and prints each
//! message received as a line on stdout. At the end of stdin it closes with 1000, waits for the
//! close handshake and exits 0; on failure it prints the error on stderr and exits non-zero.

use laputa::{blocking, ClientRequest, CloseCode, Config, DeflateConfig, Message};
use laputa_examples::{fail, Args};
use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::Duration;

fn main() {
    let args = Args::parse(&["deflate"]);
    args.runtime().unwrap_or_else(|e| fail(e));
    let Some(url) = args.positional().first() else { fail("usage: client URL [--runtime blocking]") };
    let request = ClientRequest::new(url).unwrap_or_else(|e| fail(e));
    let mut config = Config::default();
    config.deflate = args.switch("deflate").then(DeflateConfig::default);
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
    let mut stdout = std::io::stdout();
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
            Ok(Message::Text(text)) => writeln!(stdout, "{text}").unwrap_or_else(|e| fail(e)),
            Ok(Message::Binary(bytes)) => {
                writeln!(stdout, "<{} bytes of binary>", bytes.len()).unwrap_or_else(|e| fail(e))
            }
            Err(e) if e.is_timeout() => {}
            Err(laputa::Error::Closed(closed)) if closing && closed.clean => return,
            Err(e) => fail(e),
        }
    }
}
