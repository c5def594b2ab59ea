//! The async connect pipeline, written once for every runtime: it runs the core's connect flow
//! ([`laputa_core::connect::ConnectFlow`]) over the runtime's TCP (bounded by the flow's
//! deadline) and, for `wss://`, TLS ([`ClientTransport`]), and ends on a [`WebSocket`].

use super::driver::{Driver, Io, Timer};
use super::{RuntimeIo, TcpRuntime, WebSocket};
use crate::client::TlsSettings;
use crate::{ClientBuilder, Error};
use laputa_core::connect::{Action, ConnectError, ConnectFlow};
use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::{Instant, SystemTime};

/// What a runtime adds for client connects: the stream a connect ends on (its TCP stream, or
/// TLS over it with the `rustls` feature) and how TLS starts on it. Implemented by every
/// runtime of this crate.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::runtime::ClientTransport;
/// use laputa::tokio::Tokio;
///
/// // The stream of a tokio client connection, for ws:// and wss:// alike.
/// type Stream = <Tokio as ClientTransport>::ClientStream;
/// # }
/// ```
pub trait ClientTransport: super::Runtime {
    /// TCP, or TLS over TCP.
    type ClientStream: Send + Unpin + 'static;

    /// A plain TCP connection as a client stream.
    fn plain_stream(stream: Self::TcpStream) -> Self::ClientStream;

    /// Runs the TLS handshake for `server_name` over a plain client stream, within `deadline`;
    /// without the `rustls` feature, `wss://` is refused.
    fn start_tls(
        stream: Self::ClientStream,
        server_name: String,
        tls: TlsSettings,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Self::ClientStream, Error>> + Send;
}

/// Runs the core's connect flow: TCP to where it says (the runtime resolves the name; the
/// flow's deadline bounds it), TLS when it says, the bytes it sends and receives.
pub(crate) async fn run_connect<R: TcpRuntime>(
    builder: ClientBuilder,
) -> Result<(WebSocket<R::ClientStream, R>, http::Response<()>), Error> {
    let wall = SystemTime::now();
    let parts = builder.into_parts(wall);
    let mut flow = ConnectFlow::new(parts.request, parts.options, parts.config, Instant::now(), wall)?;
    let mut io: Option<Io<R::ClientStream, R>> = None;
    loop {
        match flow.poll_action() {
            Some(Action::Connect { host, port }) => {
                drop(io.take());
                tracing::debug!(%host, port, "connecting");
                let tcp = within::<R, _>(flow.poll_timeout(), R::connect(&host, port)).await??;
                io = Some(Io::new(R::plain_stream(tcp)));
                flow.connected();
                continue;
            }
            Some(Action::StartTls { server_name }) => {
                let stream = io.take().ok_or(ConnectError::Finished)?.into_stream();
                let stream = R::start_tls(stream, server_name, parts.tls.clone(), flow.poll_timeout()).await?;
                io = Some(Io::new(stream));
                flow.tls_established();
                continue;
            }
            _ => {}
        }
        let current = io.as_mut().ok_or(ConnectError::Finished)?;
        flow.poll_transmit(current.output());
        let outcome = current.write_then_read(flow.poll_timeout(), |input| match input {
            Some(data) => flow.handle_input(data),
            None => flow.handle_eof(),
        });
        let established = match outcome.await? {
            Some(result) => result?,
            None => {
                flow.handle_timeout(Instant::now())?;
                None
            }
        };
        // The stream is taken only once the connect is done: a tunnel, a challenge answered on
        // a kept-alive connection or a 1xx take more than one read on the same stream.
        if let Some(established) = established {
            let io = io.take().ok_or(ConnectError::Finished)?;
            let ws = WebSocket::from_driver(Driver::new(io, established.connection));
            return Ok((ws, established.response));
        }
    }
}

/// `future`'s output, or [`ConnectError::Timeout`] once `deadline` passes.
async fn within<R: TcpRuntime, F: Future>(deadline: Option<Instant>, future: F) -> Result<F::Output, Error> {
    let Some(deadline) = deadline else { return Ok(future.await) };
    let mut future = std::pin::pin!(future);
    let mut timer = Timer::<R>::default();
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Ok(output)),
        Poll::Pending if Instant::now() >= deadline || timer.poll(cx, deadline).is_ready() => {
            Poll::Ready(Err(ConnectError::Timeout.into()))
        }
        Poll::Pending => Poll::Pending,
    })
    .await
}

impl<S, R: RuntimeIo<S>> Io<S, R> {
    /// Writes the pending output, then reads once and hands what it read to `consume` (`None`
    /// at the end of the stream); `Ok(None)` when `deadline` passes first.
    pub(crate) async fn write_then_read<T>(
        &mut self,
        deadline: Option<Instant>,
        mut consume: impl FnMut(Option<&[u8]>) -> T,
    ) -> Result<Option<T>, Error> {
        let mut timer = Timer::<R>::default();
        poll_fn(|cx| {
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline || timer.poll(cx, deadline).is_ready() {
                    return Poll::Ready(Ok(None));
                }
            }
            if let Poll::Ready(Err(e)) = self.poll_write_handshake(cx) {
                return Poll::Ready(Err(e.into()));
            }
            match self.poll_read(cx, |input| consume(Some(input))) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(None)) => Poll::Ready(Ok(Some(consume(None)))),
                Poll::Ready(Ok(Some(output))) => Poll::Ready(Ok(Some(output))),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
            }
        })
        .await
    }
}

/// Implements [`ClientTransport`] for `$runtime`: its TCP stream, or TLS over it with
/// `$handshake` (the `rustls` feature) as `$tls_stream`.
macro_rules! impl_client_transport {
    ($runtime:ty, $tls_stream:ident, $handshake:ident) => {
        impl $crate::runtime::ClientTransport for $runtime {
            #[cfg(feature = "rustls")]
            type ClientStream = $crate::tls::$tls_stream<<$runtime as $crate::runtime::Runtime>::TcpStream>;
            #[cfg(not(feature = "rustls"))]
            type ClientStream = $crate::MaybeTls<<$runtime as $crate::runtime::Runtime>::TcpStream, $crate::NoTls>;

            fn plain_stream(stream: <$runtime as $crate::runtime::Runtime>::TcpStream) -> Self::ClientStream {
                $crate::MaybeTls::Plain(stream)
            }

            #[cfg(feature = "rustls")]
            async fn start_tls(
                stream: Self::ClientStream,
                server_name: String,
                tls: $crate::client::TlsSettings,
                deadline: Option<std::time::Instant>,
            ) -> Result<Self::ClientStream, $crate::Error> {
                let $crate::tls::MaybeTls::Plain(tcp) = stream else {
                    return Err(laputa_core::connect::ConnectError::Finished.into());
                };
                let tls = $crate::tls::$handshake(tcp, &server_name, &tls.connector(), deadline).await?;
                Ok($crate::tls::MaybeTls::Tls(Box::new(tls)))
            }

            #[cfg(not(feature = "rustls"))]
            async fn start_tls(
                _stream: Self::ClientStream,
                _server_name: String,
                _tls: $crate::client::TlsSettings,
                _deadline: Option<std::time::Instant>,
            ) -> Result<Self::ClientStream, $crate::Error> {
                Err(laputa_core::handshake::HandshakeError::InvalidUrl(
                    "wss:// needs the rustls feature of laputa".into(),
                )
                .into())
            }
        }
    };
}

pub(crate) use impl_client_transport;
