//! Echo server on yawc 0.5, as its own `echo_server` example writes it (hyper 1 upgrade, each
//! text or binary message sent back as a new frame, as its `autobahn_server` example does), on the
//! current-thread runtime every tokio server here uses. yawc is here for permessage-deflate, which
//! none of the other peers has: with `--deflate` it accepts it with the settings of laputa's
//! defaults (compression level 1, context takeover, messages under 64 bytes uncompressed).
//! `echo-yawc [--addr HOST:PORT] [--count-allocs HOST:PORT] [--deflate]`.

use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions, MAX_MESSAGE};
use yawc::{CompressionLevel, Frame, OpCode, Options, UpgradeFut, WebSocket};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

async fn echo(upgrade: UpgradeFut) -> yawc::Result<()> {
    let mut ws = upgrade.await?;
    while let Some(frame) = ws.next().await {
        let (opcode, _fin, payload) = frame.into_parts();
        if matches!(opcode, OpCode::Text | OpCode::Binary) {
            ws.send(Frame::from((opcode, payload))).await?;
        }
    }
    Ok(())
}

fn main() {
    let options = ServerOptions::from_env(&[]);
    // yawc's limits are exclusive: one byte more accepts a message of exactly MAX_MESSAGE.
    let mut ws_options = Options::default().with_limits(MAX_MESSAGE + 1, MAX_MESSAGE + 1);
    if options.deflate {
        ws_options = ws_options
            .with_low_latency_compression()
            .with_compression_level(CompressionLevel::fast())
            .with_compression_threshold(64);
    }
    tokio_runtime().block_on(async move {
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let ws_options = ws_options.clone();
            tokio::spawn(async move {
                let upgrade = move |mut request: Request<Incoming>| {
                    let ws_options = ws_options.clone();
                    async move {
                        let (response, upgrade) = WebSocket::upgrade_with_options(&mut request, ws_options)?;
                        tokio::spawn(tokio::task::unconstrained(async move {
                            let _ = echo(upgrade).await;
                        }));
                        Ok::<Response<Empty<Bytes>>, yawc::WebSocketError>(response)
                    }
                };
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, service_fn(upgrade)).with_upgrades().await;
            });
        }
    });
}
