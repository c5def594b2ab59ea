//! WebSockets on smol (feature `smol`): the [generic driver](crate::runtime) over the
//! `futures-io` traits, `async-io`'s timer and `smol::net`.
//!
//! The same API as [`blocking`](crate::blocking), made `async`; moving between them is a
//! change of module path (and `.await`). Any `futures-io` stream works, so this module also
//! serves other executors built on `async-io`.
//!
//! ```no_run
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         smol::spawn(async move {
//!             let mut ws = laputa::smol::accept(stream).await?;
//!             loop {
//!                 let message = ws.recv().await?;
//!                 ws.send(message).await?; // echo
//!             }
//!             #[allow(unreachable_code)]
//!             Ok::<(), laputa::Error>(())
//!         })
//!         .detach();
//!     }
//!     #[allow(unreachable_code)]
//!     Ok::<(), laputa::Error>(())
//! })?;
//! # Ok::<(), laputa::Error>(())
//! ```

use crate::runtime::{self, futures_io::impl_futures_io};
use futures_io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The smol [`Runtime`](runtime::Runtime): tasks on smol's global executor, timers and sockets
/// on `async-io`.
///
/// It is the `R` of code generic over the runtime, such as the functions of
/// [`laputa::runtime`](crate::runtime):
///
/// ```no_run
/// use laputa::runtime::{self, TcpRuntime};
///
/// async fn hello<R: TcpRuntime>(url: &str) -> Result<(), laputa::Error> {
///     let (mut ws, _response) = runtime::connect::<R>(url).await?;
///     ws.send("hello").await
/// }
///
/// smol::block_on(hello::<laputa::smol::Smol>("ws://127.0.0.1:9001/"))?;
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

runtime::facade::runtime_module! {
    runtime: Smol, "smol",
    net: smol::net, "smol::net",
    block_on: "smol::block_on",
    spawn: "smol::spawn", "",
    unix_stream: "smol::net::unix::UnixStream",
    stream: "a `futures-io` stream (by default smol's [`TcpStream`])",
    bound: [AsyncRead + AsyncWrite + Unpin],
    tls: FuturesStream, handshake_futures,
    impl Runtime {
        runtime::futures_io::async_io_sleep!();

        type JoinHandle<T: Send + 'static> = JoinHandle<T>;

        fn spawn<F>(future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            JoinHandle(Some(smol::spawn(future)))
        }
    }
}

// `poll_close` of smol's sockets shuts down the write side (and of a TLS stream, sends its
// close_notify first).
impl_futures_io!(Smol, futures_io::AsyncWrite::poll_close, AsyncRead + AsyncWrite + Unpin);

/// A task spawned on smol; awaiting it gives its output. Unlike a bare `smol::Task`, dropping
/// it detaches the task instead of cancelling it, as on the other runtimes.
///
/// ```
/// use laputa::runtime::Runtime;
/// use laputa::smol::Smol;
///
/// smol::block_on(async {
///     let (tx, rx) = smol::channel::bounded(1);
///     drop(Smol::spawn(async move { tx.send(42).await })); // detached: it still runs
///     assert_eq!(rx.recv().await.ok(), Some(42));
/// });
/// ```
#[derive(Debug)]
pub struct JoinHandle<T>(Option<smol::Task<T>>);

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.0.as_mut() {
            Some(task) => Pin::new(task).poll(cx),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.detach();
        }
    }
}
