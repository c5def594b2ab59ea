//! Echo server on `laputa::tokio`, on the current-thread runtime every tokio server here uses,
//! written as the `echo_server` example writes it (`recv`, then `feed`).
//! `echo-laputa [--addr HOST:PORT] [--count-allocs HOST:PORT] [--send] [--deflate]`: each echo
//! is queued with `feed` (corked: `recv` writes everything answered while handling one read in
//! one write before it waits), or written at once with `send` with `--send`; with `--deflate`,
//! permessage-deflate is accepted. `echo-laputa-smol` and `echo-laputa-async-std` are the same server on the other
//! runtimes.

use laputa::Accept;
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&["send"]);
    let feed = !options.args.switch("send");
    let config = options.laputa_config();
    tokio_runtime().block_on(async move {
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let config = config.clone();
            tokio::spawn(tokio::task::unconstrained(async move {
                let Ok(mut ws) = laputa::tokio::accept_with(stream, config, |_| Ok(Accept::default())).await else {
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
