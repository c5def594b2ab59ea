//! Echo server on async-tungstenite 0.35 (tungstenite 0.30, as tokio-tungstenite 0.30) on smol,
//! built as `echo-laputa-smol` is (one `LocalExecutor` run by `block_on` on the main thread):
//! the peer that `laputa-smol` is measured against on its own runtime.
//! `echo-async-tungstenite-smol [--addr HOST:PORT] [--count-allocs HOST:PORT]`.

use laputa_bench::{async_tungstenite_echo, fail, std_listener, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("async-tungstenite 0.35");
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let listener = smol::net::TcpListener::try_from(std_listener(&options.addr)).unwrap_or_else(|e| fail(e));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            executor.spawn(async_tungstenite_echo(stream)).detach();
        }
    }));
}
