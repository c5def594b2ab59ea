//! Echo server on `laputa::blocking`, one thread per connection (threads cost memory and
//! context switches that the async adapters do not; `echo-laputa` is the tokio one).
//! `echo-laputa-blocking [--addr HOST:PORT] [--count-allocs HOST:PORT] [--send] [--deflate]`:
//! each echo is queued with `feed` (`read` writes everything queued before it waits), or
//! written at once with `send` with `--send`.

use laputa::{blocking, Accept};
use laputa_bench::{fail, std_listener, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Stack of each connection thread: the echo loop needs little.
const STACK: usize = 128 << 10;

fn main() {
    let options = ServerOptions::from_env(&["send"]);
    let feed = !options.args.switch("send");
    let config = options.laputa_config();
    let listener = std_listener(&options.addr);
    listener.set_nonblocking(false).unwrap_or_else(|e| fail(e));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let config = config.clone();
        let spawned = std::thread::Builder::new().stack_size(STACK).spawn(move || {
            let Ok(mut ws) = blocking::accept_with(stream, config, |_| Ok(Accept::default())) else { return };
            while let Ok(message) = ws.read() {
                let sent = if feed { ws.feed(message) } else { ws.send(message) };
                if sent.is_err() {
                    break;
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("cannot spawn a connection thread: {e}");
        }
    }
}
