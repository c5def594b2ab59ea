//! Echo server on async-tungstenite 0.35 (tungstenite 0.30, as tokio-tungstenite 0.30) on
//! async-std, built as `echo-laputa-async-std` is (every connection's task `spawn_local`ed onto
//! the thread that runs `block_on`): the peer that `laputa-async-std` is measured against on its
//! own runtime. `echo-async-tungstenite-async-std [--addr HOST:PORT] [--count-allocs HOST:PORT]`.

use laputa_bench::{async_tungstenite_echo, std_listener, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("async-tungstenite 0.35");
    async_std::task::block_on(async {
        let listener = async_std::net::TcpListener::from(std_listener(&options.addr));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            async_std::task::spawn_local(async_tungstenite_echo(stream));
        }
    });
}
