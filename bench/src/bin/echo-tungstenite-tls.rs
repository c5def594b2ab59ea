//! wss echo server on tokio-tungstenite 0.30 over tokio-rustls 0.26 (the same rustls and ring as
//! laputa's), echoing as `echo-tungstenite` does (the read half forwarded into the write half),
//! on the current-thread runtime every tokio server here uses: the peer of the wss echo column
//! (issue 19). `echo-tungstenite-tls --tls-cert FILE --tls-key FILE [--addr HOST:PORT] [--count-allocs HOST:PORT]`.

use futures_util::{future, StreamExt, TryStreamExt};
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions, MAX_MESSAGE};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("tokio-tungstenite 0.30");
    let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE));
    let acceptor = tokio_rustls::TlsAcceptor::from(options.rustls_server_config());
    tokio_runtime().block_on(async move {
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(tokio::task::unconstrained(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let Ok(ws) = tokio_tungstenite::accept_async_with_config(tls, Some(config)).await else { return };
                let (write, read) = ws.split();
                let _ = read.try_filter(|m| future::ready(m.is_text() || m.is_binary())).forward(write).await;
            }));
        }
    });
}
