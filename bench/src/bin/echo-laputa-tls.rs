//! wss echo server on `laputa::tokio` over `laputa::tls::TlsAcceptor` (rustls, ring), written
//! as `echo-laputa` is (`recv`, then `feed`), on the current-thread runtime every tokio server
//! here uses: the laputa side of the wss echo column (issue 19).
//! `echo-laputa-tls --tls-cert FILE --tls-key FILE [--addr HOST:PORT] [--count-allocs HOST:PORT] [--send]`.

use laputa::tls::TlsAcceptor;
use laputa::Accept;
use laputa_bench::{fail, tokio_listener, tokio_runtime, CountingAlloc, ServerOptions};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&["send"]);
    options.refuse_deflate("echo-laputa-tls (the wss column)");
    let feed = !options.args.switch("send");
    let config = options.laputa_config();
    let (cert, key) = options.tls_files();
    let acceptor = TlsAcceptor::from_pem_files(cert, key).unwrap_or_else(|e| fail(e));
    tokio_runtime().block_on(async move {
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let (config, acceptor) = (config.clone(), acceptor.clone());
            tokio::spawn(tokio::task::unconstrained(async move {
                let deadline = Instant::now() + Duration::from_secs(10);
                let Ok(tls) = acceptor.accept_tokio(stream, Some(deadline)).await else { return };
                let Ok(mut ws) = laputa::tokio::accept_with(tls, config, |_| Ok(Accept::default())).await else {
                    return;
                };
                while let Ok(message) = ws.recv().await {
                    let sent = if feed { ws.feed(message).await } else { ws.send(message).await };
                    if sent.is_err() {
                        break;
                    }
                }
            }));
        }
    });
}
