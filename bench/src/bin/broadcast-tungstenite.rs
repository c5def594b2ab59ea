//! Broadcast server as users write it today with tokio-tungstenite 0.30: one
//! `tokio::sync::broadcast` channel, one task per connection, each subscriber's task forwarding
//! what its receiver gets into its sink (`send`: encoded, written and flushed per message and
//! per connection). A receiver that lags skips what it missed; the lag is counted and printed
//! to standard error. On the current-thread tokio runtime every server here uses.
//!
//! Subscribers connect to `/sub`; every message a publisher sends on `/pub` goes to every
//! subscriber. `broadcast-tungstenite [--addr HOST:PORT] [--count-allocs HOST:PORT]
//! [--capacity N]` (the channel's capacity, 1024 by default).

use futures_util::{SinkExt, StreamExt};
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions, MAX_MESSAGE};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Messages skipped by lagging receivers.
static LAGGED: AtomicU64 = AtomicU64::new(0);

type Ws = WebSocketStream<tokio::net::TcpStream>;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("tokio-tungstenite 0.30");
    let capacity: usize = options.args.get("capacity", 1024);
    let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE));
    tokio_runtime().block_on(async move {
        let (tx, _) = broadcast::channel::<Message>(capacity);
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut path = String::new();
                // The callback's type is tungstenite's (its error is an HTTP response).
                #[allow(clippy::result_large_err)]
                let callback = |request: &Request, response: Response| {
                    path = request.uri().path().to_owned();
                    Ok(response)
                };
                let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
                else {
                    return;
                };
                match path.as_str() {
                    "/pub" => publish(ws, tx).await,
                    "/sub" => subscribe(ws, tx.subscribe()).await,
                    _ => {}
                }
            });
        }
    });
}

/// Every data message of the publisher goes into the channel.
async fn publish(mut ws: Ws, tx: broadcast::Sender<Message>) {
    while let Some(Ok(message)) = ws.next().await {
        if message.is_text() || message.is_binary() {
            let _ = tx.send(message);
        }
    }
}

/// Forwards the channel into the subscriber's sink, and reads from it (pings, the close) until
/// it goes.
async fn subscribe(ws: Ws, mut rx: broadcast::Receiver<Message>) {
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok(message) => {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    if LAGGED.fetch_add(skipped, Ordering::Relaxed) == 0 {
                        eprintln!("broadcast-tungstenite: a receiver lagged by {skipped} messages");
                    }
                }
                Err(RecvError::Closed) => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(_)) => {}
                _ => break,
            },
        }
    }
}
