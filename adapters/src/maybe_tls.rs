//! [`MaybeTls`]: a client connection's stream, plain or TLS, with the I/O traits of every
//! family. It exists with or without TLS support, so that the stream of a connection is one type
//! whatever features are on.

use std::io::{self, IoSlice, Read, Write};

/// A stream that is plain (`ws://`) or TLS over it (`wss://`), so that a client connects to
/// both with one `WebSocket` type. The TLS stream is boxed: it holds rustls' buffers and state
/// (a kilobyte and more), which a plain connection should not carry.
///
/// It has the I/O traits its variants have, for each family: `Read`, `Write` and
/// `blocking::Stream`, tokio's `AsyncRead` and `AsyncWrite`, and the `futures-io` traits with
/// `async_std::Stream`. Shutting down its write side sends TLS `close_notify`, then the TCP FIN.
///
/// It exists with or without the `rustls` feature, so that a client connection's stream is the
/// same type either way (features add, they never change a type): without it, the TLS variant
/// holds [`NoTls`], which cannot be made.
///
/// ```
/// # #[cfg(feature = "blocking")] {
/// use laputa::blocking::{self, ClientStream};
/// use laputa::{ClientRequest, Config, MaybeTls};
/// use std::net::TcpStream;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # let server = std::thread::spawn(move || -> Result<(), laputa::Error> {
/// #     let mut ws = blocking::accept(listener.accept()?.0)?;
/// #     let message = ws.read()?;
/// #     ws.send(message)
/// # });
///
/// // A ws:// echo server listens on `addr`: the same type as a wss:// connection.
/// let stream: ClientStream = MaybeTls::Plain(TcpStream::connect(addr)?);
/// let request = ClientRequest::new(&format!("ws://{addr}/"))?;
/// let (mut ws, _) = blocking::client(stream, request, Config::default())?;
/// assert!(!ws.get_ref().is_tls());
/// ws.send("BALUS")?;
/// assert_eq!(ws.read()?.as_text(), Some("BALUS"));
/// # server.join().expect("the server thread")?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug)]
pub enum MaybeTls<S, T> {
    /// The stream as it is (`ws://`).
    Plain(S),
    /// TLS over the stream (`wss://`), after its handshake.
    Tls(Box<T>),
}

impl<S, T> MaybeTls<S, T> {
    /// Whether this is the TLS variant.
    ///
    /// ```
    /// use laputa::{MaybeTls, NoTls};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///
    /// let plain: MaybeTls<_, NoTls> = MaybeTls::Plain(std::net::TcpStream::connect(listener.local_addr()?)?);
    /// assert!(!plain.is_tls());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }
}

impl<S: Read, T: Read> Read for MaybeTls<S, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl<S: Write, T: Write> Write for MaybeTls<S, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write_vectored(bufs),
            Self::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
}

/// The async I/O traits, by delegation to the variant: one macro for tokio's and futures-io's,
/// whose methods differ in the read buffer and the name of the shutdown.
#[cfg(any(feature = "tokio", feature = "_futures_io"))]
macro_rules! delegate {
    ($self:ident, $stream:ident => $call:expr) => {
        match $self.get_mut() {
            MaybeTls::Plain($stream) => {
                let $stream = std::pin::Pin::new($stream);
                $call
            }
            MaybeTls::Tls(tls) => {
                let $stream = std::pin::Pin::new(&mut **tls);
                $call
            }
        }
    };
}

#[cfg(feature = "tokio")]
mod tokio_io {
    use super::MaybeTls;
    use std::io::{self, IoSlice};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    impl<S: AsyncRead + Unpin, T: AsyncRead + Unpin> AsyncRead for MaybeTls<S, T> {
        fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_read(cx, buf))
        }
    }

    impl<S: AsyncWrite + Unpin, T: AsyncWrite + Unpin> AsyncWrite for MaybeTls<S, T> {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write(cx, buf))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write_vectored(cx, bufs))
        }

        fn is_write_vectored(&self) -> bool {
            match self {
                MaybeTls::Plain(stream) => stream.is_write_vectored(),
                MaybeTls::Tls(tls) => tls.is_write_vectored(),
            }
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_flush(cx))
        }

        /// TLS `close_notify`, then the stream's own shutdown (tokio's TCP: the FIN).
        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_shutdown(cx))
        }
    }
}

#[cfg(feature = "_futures_io")]
mod futures_io_impl {
    use super::MaybeTls;
    use futures_io::{AsyncRead, AsyncWrite};
    use std::io::{self, IoSlice};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    impl<S: AsyncRead + Unpin, T: AsyncRead + Unpin> AsyncRead for MaybeTls<S, T> {
        fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_read(cx, buf))
        }
    }

    impl<S: AsyncWrite + Unpin, T: AsyncWrite + Unpin> AsyncWrite for MaybeTls<S, T> {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write(cx, buf))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write_vectored(cx, bufs))
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_flush(cx))
        }

        /// TLS `close_notify`, then the stream's own `poll_close` (smol's TCP: the FIN;
        /// async-std's only flushes, which its [`Stream`](crate::async_std::Stream) impl makes
        /// up for).
        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_close(cx))
        }
    }
}

/// Either variant's [`Stream`](crate::blocking::Stream).
///
/// ```
/// use laputa::blocking::{ClientStream, Stream};
/// use laputa::MaybeTls;
/// use std::time::Duration;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
///
/// let mut stream: ClientStream = MaybeTls::Plain(std::net::TcpStream::connect(listener.local_addr()?)?);
/// Stream::set_write_timeout(&mut stream, Some(Duration::from_secs(5)))?;
/// assert_eq!(Stream::write_timeout(&stream)?, Some(Duration::from_secs(5)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(feature = "blocking")]
impl<S: crate::blocking::Stream, T: crate::blocking::Stream> crate::blocking::Stream for MaybeTls<S, T> {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.shutdown_write(),
            Self::Tls(tls) => tls.shutdown_write(),
        }
    }

    fn read_timeout(&self) -> io::Result<Option<std::time::Duration>> {
        match self {
            Self::Plain(stream) => stream.read_timeout(),
            Self::Tls(tls) => tls.read_timeout(),
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.set_read_timeout(timeout),
            Self::Tls(tls) => tls.set_read_timeout(timeout),
        }
    }

    fn write_timeout(&self) -> io::Result<Option<std::time::Duration>> {
        match self {
            Self::Plain(stream) => stream.write_timeout(),
            Self::Tls(tls) => tls.write_timeout(),
        }
    }

    fn set_write_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.set_write_timeout(timeout),
            Self::Tls(tls) => tls.set_write_timeout(timeout),
        }
    }
}

#[cfg(feature = "async-std")]
mod async_std_stream {
    use super::MaybeTls;
    use crate::async_std::Stream;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Either variant's [`Stream`].
    ///
    /// ```
    /// use laputa::async_std::{ClientStream, Stream};
    ///
    /// fn is_stream<S: Stream>() {}
    /// is_stream::<ClientStream>();
    /// ```
    impl<S: Stream, T: Stream> Stream for MaybeTls<S, T> {
        fn poll_shutdown_write(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match self.get_mut() {
                MaybeTls::Plain(stream) => Pin::new(stream).poll_shutdown_write(cx),
                MaybeTls::Tls(tls) => Pin::new(&mut **tls).poll_shutdown_write(cx),
            }
        }
    }
}

/// The TLS variant of [`MaybeTls`] without the `rustls` feature: a type with no values, so that
/// the variant cannot be made (and every match on it is trivially complete).
///
/// ```
/// use laputa::{MaybeTls, NoTls};
///
/// fn describe(stream: &MaybeTls<std::net::TcpStream, NoTls>) -> &'static str {
///     match stream {
///         MaybeTls::Plain(_) => "plain TCP",
///         MaybeTls::Tls(never) => match **never {},
///     }
/// }
/// ```
#[derive(Debug)]
pub enum NoTls {}

impl Read for NoTls {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }
}

impl Write for NoTls {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        match *self {}
    }

    fn flush(&mut self) -> io::Result<()> {
        match *self {}
    }
}

#[cfg(feature = "blocking")]
impl crate::blocking::Stream for NoTls {}

impl<S> MaybeTls<S, NoTls> {
    /// The plain stream (there is no other without the `rustls` feature).
    ///
    /// ```
    /// use laputa::{MaybeTls, NoTls};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?;
    ///
    /// let stream: MaybeTls<_, NoTls> = MaybeTls::Plain(std::net::TcpStream::connect(addr)?);
    /// assert_eq!(stream.get_ref().peer_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        match self {
            Self::Plain(stream) => stream,
            Self::Tls(never) => match **never {},
        }
    }

    /// The plain stream, to set options.
    ///
    /// ```
    /// use laputa::{MaybeTls, NoTls};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///
    /// let mut stream: MaybeTls<_, NoTls> = MaybeTls::Plain(std::net::TcpStream::connect(listener.local_addr()?)?);
    /// stream.get_mut().set_nodelay(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        match self {
            Self::Plain(stream) => stream,
            Self::Tls(never) => match **never {},
        }
    }
}

#[cfg(feature = "tokio")]
mod tokio_no_tls {
    use super::NoTls;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    impl AsyncRead for NoTls {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            match *self.get_mut() {}
        }
    }

    impl AsyncWrite for NoTls {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
            match *self.get_mut() {}
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            match *self.get_mut() {}
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            match *self.get_mut() {}
        }
    }
}

#[cfg(feature = "_futures_io")]
mod futures_no_tls {
    use super::NoTls;
    use futures_io::{AsyncRead, AsyncWrite};
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    impl AsyncRead for NoTls {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut [u8]) -> Poll<io::Result<usize>> {
            match *self.get_mut() {}
        }
    }

    impl AsyncWrite for NoTls {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
            match *self.get_mut() {}
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            match *self.get_mut() {}
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            match *self.get_mut() {}
        }
    }

    #[cfg(feature = "async-std")]
    impl crate::async_std::Stream for NoTls {}
}
