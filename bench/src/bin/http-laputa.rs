//! Plain HTTP file server on `laputa::server` (issue 20): a document root and nothing else, on
//! the current-thread tokio runtime every server here uses, written as a user writes it
//! (`Server::builder().bind(..).document_root(..)?.start::<Tokio>()`). The server's own defaults
//! hold: keep-alive, `TCP_NODELAY` on every accepted socket, the file opened and sent on the
//! connection's task.
//!
//! `http-laputa --root DIR [--addr HOST:PORT] [--count-allocs HOST:PORT]`; `http-axum` serves the
//! same directory with axum and tower-http's `ServeDir`.

use laputa::server::Server;
use laputa::tokio::Tokio;
use laputa_bench::{fail, tokio_runtime, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("http-laputa");
    let root = options.args.value("root").unwrap_or_else(|| fail("http-laputa needs --root DIR")).to_owned();
    tokio_runtime().block_on(async move {
        let builder = Server::builder().bind(&options.addr).document_root(&root).unwrap_or_else(|e| fail(e));
        let _server = builder.start::<Tokio>().await.unwrap_or_else(|e| fail(e));
        std::future::pending::<()>().await
    });
}
