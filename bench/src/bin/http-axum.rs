//! Plain HTTP file server on axum 0.8 with tower-http's `ServeDir` (hyper 1 beneath), the peer of
//! `http-laputa` (issue 20), written as axum's `static-file-server` example writes it
//! (`Router::fallback_service(ServeDir::new(dir))`, `axum::serve`), on the current-thread tokio
//! runtime every server here uses. Like every server here it turns `TCP_NODELAY` on for each
//! accepted socket (`ListenerExt::tap_io`) and listens with a backlog of 1024. `ServeDir` opens
//! and reads files with `tokio::fs`, that is on tokio's blocking threads: their CPU counts, since
//! the runner reads the whole process's.
//!
//! `http-axum --root DIR [--addr HOST:PORT] [--count-allocs HOST:PORT]`.

use axum::serve::ListenerExt;
use laputa_bench::{fail, tokio_listener, tokio_runtime, CountingAlloc, ServerOptions};
use tower_http::services::ServeDir;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("http-axum");
    let root = options.args.value("root").unwrap_or_else(|| fail("http-axum needs --root DIR")).to_owned();
    tokio_runtime().block_on(async move {
        let app = axum::Router::new().fallback_service(ServeDir::new(root));
        let listener = tokio_listener(&options.addr).tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        axum::serve(listener, app).await.unwrap_or_else(|e| fail(e));
    });
}
