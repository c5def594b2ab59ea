//! Echo server on tokio-websockets 0.13, as its own `echo_server` example writes it, on the
//! current-thread runtime every tokio server here uses.
//! `echo-tokio-websockets [--addr HOST:PORT] [--count-allocs HOST:PORT]`.

use futures_util::{SinkExt, StreamExt};
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions, MAX_MESSAGE};
use tokio_websockets::{Limits, ServerBuilder};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("tokio-websockets 0.13");
    tokio_runtime().block_on(async move {
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(tokio::task::unconstrained(async move {
                let limits = Limits::default().max_payload_len(Some(MAX_MESSAGE));
                let Ok((_request, mut ws)) = ServerBuilder::new().limits(limits).accept(stream).await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                        break;
                    }
                }
            }));
        }
    });
}
