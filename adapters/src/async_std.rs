//! WebSockets on async-std (feature `async-std`): the [generic driver](crate::runtime) over
//! the `futures-io` traits, `async-io`'s timer and `async_std::net`.
//!
//! **async-std is discontinued upstream**; this module stays because users asked for it, and
//! it shares all its code with [`smol`](crate::smol) (the maintained choice on the same
//! `futures-io` traits), so moving there is a change of module path.
//!
//! ```no_run
//! async_std::task::block_on(async {
//!     let listener = async_std::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         async_std::task::spawn(async move {
//!             let mut ws = laputa::async_std::accept(stream).await?;
//!             loop {
//!                 let message = ws.recv().await?;
//!                 ws.send(message).await?; // echo
//!             }
//!             #[allow(unreachable_code)]
//!             Ok::<(), laputa::Error>(())
//!         });
//!     }
//!     #[allow(unreachable_code)]
//!     Ok::<(), laputa::Error>(())
//! })?;
//! # Ok::<(), laputa::Error>(())
//! ```

use crate::runtime::{self, futures_io::impl_futures_io};
use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The async-std [`Runtime`](runtime::Runtime): tasks on async-std's executor, timers on
/// `async-io` (which async-std runs on).
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
/// async_std::task::block_on(hello::<laputa::async_std::AsyncStd>("ws://127.0.0.1:9001/"))?;
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

runtime::facade::runtime_module! {
    runtime: AsyncStd, "async_std",
    net: async_std::net, "async_std::net",
    block_on: "async_std::task::block_on",
    spawn: "async_std::task::spawn", "",
    unix_stream: "async_std::os::unix::net::UnixStream",
    stream: "a `futures-io` stream (by default async-std's [`TcpStream`])",
    bound: [Stream],
    tls: FuturesStream, handshake_futures,
    impl Runtime {
        runtime::futures_io::async_io_sleep!();

        type JoinHandle<T: Send + 'static> = async_std::task::JoinHandle<T>;

        fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
        where
            F: std::future::Future + Send + 'static,
            F::Output: Send + 'static,
        {
            async_std::task::spawn(future)
        }
    }
}

impl_futures_io!(AsyncStd, Stream::poll_shutdown_write, Stream);

/// What the async-std adapter needs from a stream beyond the `futures-io` traits: shutting
/// down its write side (TCP FIN), as the core asks after the close handshake. async-std's own
/// `poll_close` only flushes, so its sockets implement this with `shutdown(Write)`; for other
/// streams (a TLS stream, say) the default calls `poll_close`.
///
/// ```
/// use laputa::async_std::Stream;
/// # struct MyTlsStream;
/// # impl futures_io::AsyncRead for MyTlsStream {
/// #     fn poll_read(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &mut [u8])
/// #         -> std::task::Poll<std::io::Result<usize>> { unimplemented!() }
/// # }
/// # impl futures_io::AsyncWrite for MyTlsStream {
/// #     fn poll_write(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &[u8])
/// #         -> std::task::Poll<std::io::Result<usize>> { unimplemented!() }
/// #     fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
/// #         -> std::task::Poll<std::io::Result<()>> { unimplemented!() }
/// #     fn poll_close(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
/// #         -> std::task::Poll<std::io::Result<()>> { unimplemented!() }
/// # }
/// // A stream whose `poll_close` ends its write side.
/// impl Stream for MyTlsStream {}
/// ```
pub trait Stream: AsyncRead + AsyncWrite + Unpin {
    /// Shuts down the write side; by default `poll_close`.
    ///
    /// ```
    /// use laputa::async_std::Stream;
    /// use std::pin::Pin;
    /// # use async_std::io::{ReadExt, WriteExt};
    ///
    /// # async_std::task::block_on(async {
    /// # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut stream = async_std::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut peer, _) = listener.accept().await?;
    /// // Send a FIN: the peer reads the end of the stream, and this side can still read.
    /// std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown_write(cx)).await?;
    /// assert_eq!(peer.read(&mut [0; 16]).await?, 0);
    /// # peer.write_all(b"still open").await?;
    /// let mut buf = [0; 10];
    /// stream.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"still open"); // what the peer wrote after the FIN
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_shutdown_write(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close(cx)
    }
}

impl Stream for TcpStream {
    fn poll_shutdown_write(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(std::net::Shutdown::Write))
    }
}

#[cfg(unix)]
impl Stream for async_std::os::unix::net::UnixStream {
    fn poll_shutdown_write(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(std::net::Shutdown::Write))
    }
}
