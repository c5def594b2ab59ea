//! Echo server on `laputa::smol`: the same server as `echo-laputa` (same limits, `recv` then
//! `feed`, or `send` with `--send`; `--deflate` accepts permessage-deflate), on smol's
//! single-threaded flavour: every connection's task on one `LocalExecutor` run by `block_on` on
//! the main thread, which also drives `async-io`'s reactor (the counterpart of tokio's
//! current-thread runtime). `echo-laputa-smol [--addr HOST:PORT] [--count-allocs HOST:PORT]
//! [--send] [--deflate]`.

use laputa::Accept;
use laputa_bench::{fail, std_listener, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&["send"]);
    let feed = !options.args.switch("send");
    let config = options.laputa_config();
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let listener = smol::net::TcpListener::try_from(std_listener(&options.addr)).unwrap_or_else(|e| fail(e));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let config = config.clone();
            executor
                .spawn(async move {
                    let Ok(mut ws) = laputa::smol::accept_with(stream, config, |_| Ok(Accept::default())).await else {
                        return;
                    };
                    while let Ok(message) = ws.recv().await {
                        let sent = if feed { ws.feed(message).await } else { ws.send(message).await };
                        if sent.is_err() {
                            break;
                        }
                    }
                })
                .detach();
        }
    }));
}
