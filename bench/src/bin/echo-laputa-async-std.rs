//! Echo server on `laputa::async_std`: the same server as `echo-laputa` (same limits, `recv` then
//! `feed`, or `send` with `--send`; `--deflate` accepts permessage-deflate), on async-std's
//! single-threaded flavour: every connection's task spawned with `task::spawn_local` onto the
//! thread that runs `task::block_on` (the counterpart of tokio's current-thread runtime; plain
//! `task::spawn` would hand each task to async-std's worker threads).
//! `echo-laputa-async-std [--addr HOST:PORT] [--count-allocs HOST:PORT] [--send] [--deflate]`.

use laputa::Accept;
use laputa_bench::{std_listener, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&["send"]);
    let feed = !options.args.switch("send");
    let config = options.laputa_config();
    async_std::task::block_on(async {
        let listener = async_std::net::TcpListener::from(std_listener(&options.addr));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let config = config.clone();
            async_std::task::spawn_local(async move {
                let Ok(mut ws) = laputa::async_std::accept_with(stream, config, |_| Ok(Accept::default())).await else {
                    return;
                };
                while let Ok(message) = ws.recv().await {
                    let sent = if feed { ws.feed(message).await } else { ws.send(message).await };
                    if sent.is_err() {
                        break;
                    }
                }
            });
        }
    });
}
