//! Broadcast server on yawc 0.5, the one peer with permessage-deflate, as users write it:
//! one `tokio::sync::broadcast` channel, one task per connection (upgraded through hyper 1 as
//! yawc's examples do), each subscriber's task sending what its receiver gets as a new frame:
//! with `--deflate` each session compresses each message itself (server without context takeover,
//! level 1, messages under 64 bytes uncompressed: the settings of `broadcast-laputa --deflate`).
//! A receiver that lags skips what it missed; the lag is counted and printed to standard error.
//!
//! Subscribers connect to `/sub`; every message a publisher sends on `/pub` goes to every
//! subscriber. `broadcast-yawc [--addr HOST:PORT] [--count-allocs HOST:PORT] [--deflate]
//! [--capacity N]` (the channel's capacity, 1024 by default).

use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions, MAX_MESSAGE};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast::{self, error::RecvError};
use yawc::{CompressionLevel, Frame, OpCode, Options, UpgradeFut, WebSocket};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Messages skipped by lagging receivers.
static LAGGED: AtomicU64 = AtomicU64::new(0);

type Item = (OpCode, Bytes);

fn main() {
    let options = ServerOptions::from_env(&[]);
    let capacity: usize = options.args.get("capacity", 1024);
    // yawc's limits are exclusive: one byte more accepts a message of exactly MAX_MESSAGE.
    let mut ws_options = Options::default().with_limits(MAX_MESSAGE + 1, MAX_MESSAGE + 1);
    if options.deflate {
        ws_options = ws_options
            .with_low_latency_compression()
            .with_compression_level(CompressionLevel::fast())
            .with_compression_threshold(64)
            .server_no_context_takeover();
    }
    tokio_runtime().block_on(async move {
        let (tx, _) = broadcast::channel::<Item>(capacity);
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let ws_options = ws_options.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let upgrade = move |mut request: Request<Incoming>| {
                    let ws_options = ws_options.clone();
                    let tx = tx.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let (response, upgrade) = WebSocket::upgrade_with_options(&mut request, ws_options)?;
                        tokio::spawn(async move {
                            let _ = match path.as_str() {
                                "/pub" => publish(upgrade, tx).await,
                                "/sub" => subscribe(upgrade, tx.subscribe()).await,
                                _ => Ok(()),
                            };
                        });
                        Ok::<Response<Empty<Bytes>>, yawc::WebSocketError>(response)
                    }
                };
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, service_fn(upgrade)).with_upgrades().await;
            });
        }
    });
}

/// Every data message of the publisher goes into the channel.
async fn publish(upgrade: UpgradeFut, tx: broadcast::Sender<Item>) -> yawc::Result<()> {
    let mut ws = upgrade.await?;
    while let Some(frame) = ws.next().await {
        let (opcode, _fin, payload) = frame.into_parts();
        if matches!(opcode, OpCode::Text | OpCode::Binary) {
            let _ = tx.send((opcode, payload));
        }
    }
    Ok(())
}

/// Forwards the channel into the subscriber's sink, and reads from it (pings, the close) until
/// it goes.
async fn subscribe(upgrade: UpgradeFut, mut rx: broadcast::Receiver<Item>) -> yawc::Result<()> {
    let (mut sink, mut stream) = upgrade.await?.split();
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok((opcode, payload)) => sink.send(Frame::from((opcode, payload))).await?,
                Err(RecvError::Lagged(skipped)) => {
                    if LAGGED.fetch_add(skipped, Ordering::Relaxed) == 0 {
                        eprintln!("broadcast-yawc: a receiver lagged by {skipped} messages");
                    }
                }
                Err(RecvError::Closed) => break,
            },
            incoming = stream.next() => if incoming.is_none() {
                break;
            },
        }
    }
    Ok(())
}
