//! WebSockets on tokio (feature `tokio`): the [generic driver](crate::runtime) over tokio's
//! `AsyncRead`/`AsyncWrite`, timers and TCP.
//!
//! The same API as [`blocking`](crate::blocking), made `async`; moving between them is a
//! change of module path (and `.await`).
//!
//! ```no_run
//! use laputa::{tokio as ws, Message};
//!
//! # async fn run() -> Result<(), laputa::Error> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = ws::accept(stream).await?;
//!         loop {
//!             let message = ws.recv().await?;
//!             ws.send(message).await?; // echo
//!         }
//!         #[allow(unreachable_code)]
//!         Ok::<(), laputa::Error>(())
//!     });
//! }
//! # }
//! ```

use crate::runtime::{self, RuntimeIo};
use laputa_core::bytes::buf::Limit;
use laputa_core::bytes::BytesMut;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The tokio [`Runtime`](runtime::Runtime). Its functions must be called within a tokio
/// runtime with the time driver enabled.
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
/// # async fn run() -> Result<(), laputa::Error> {
/// hello::<laputa::tokio::Tokio>("ws://127.0.0.1:9001/").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

runtime::facade::runtime_module! {
    runtime: Tokio, "tokio",
    net: tokio::net, "tokio::net",
    block_on: "tokio::runtime::Runtime::new()?.block_on",
    spawn: "tokio::spawn", ".expect(\"the reading task\")",
    unix_stream: "tokio::net::UnixStream",
    stream: "a tokio stream (by default a [`TcpStream`])",
    bound: [AsyncRead + AsyncWrite + Unpin],
    tls: TokioStream, handshake_tokio,
    impl Runtime {
        type Sleep = tokio::time::Sleep;
        type JoinHandle<T: Send + 'static> = JoinHandle<T>;

        fn sleep_until(deadline: Instant) -> Self::Sleep {
            tokio::time::sleep_until(deadline.into())
        }

        fn reset_sleep(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
            sleep.reset(deadline.into());
        }

        fn spawn<F>(future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            JoinHandle(tokio::spawn(future))
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RuntimeIo<S> for Tokio {
    fn poll_read(stream: &mut S, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        std::task::ready!(Pin::new(stream).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    const READS_SPARE: bool = true;

    fn poll_read_spare(
        stream: &mut S,
        cx: &mut Context<'_>,
        buf: &mut Limit<&mut BytesMut>,
    ) -> Poll<io::Result<usize>> {
        std::pin::pin!(stream.read_buf(buf)).poll(cx)
    }

    fn poll_write(stream: &mut S, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(stream: &mut S, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(stream: &S) -> bool {
        stream.is_write_vectored()
    }

    fn poll_flush(stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(stream).poll_flush(cx)
    }

    fn poll_shutdown(stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(stream).poll_shutdown(cx)
    }
}

/// A task spawned on tokio; awaiting it gives its output (resuming its panic, if it panicked).
///
/// ```
/// use laputa::runtime::Runtime;
/// use laputa::tokio::{JoinHandle, Tokio};
///
/// tokio::runtime::Runtime::new()?.block_on(async {
///     let task: JoinHandle<u32> = Tokio::spawn(async { 6 * 7 });
///     assert_eq!(task.await, 42);
/// });
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug)]
pub struct JoinHandle<T>(tokio::task::JoinHandle<T>);

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|result| match result {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("task failed: {e}"),
        })
    }
}
