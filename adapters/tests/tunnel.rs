//! A WebSocket whose stream is carried in the messages of another laputa WebSocket, polled on
//! one thread: the outer connection's read polls the inner one from inside its own read.
#![cfg(feature = "tokio")]

use futures::{Sink, Stream};
use laputa::core::Connection;
use laputa::{Config, Message, Role};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// A byte stream carried in the binary messages of a laputa WebSocket.
struct Tunnel {
    inner: laputa::tokio::WebSocket<DuplexStream>,
    pending: Vec<u8>,
}

impl AsyncRead for Tunnel {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.pending.is_empty() {
            match ready!(Pin::new(&mut self.inner).poll_next(cx)) {
                Some(Ok(message)) => self.pending = message.payload().to_vec(),
                _ => return Poll::Ready(Ok(())),
            }
        }
        let n = buf.remaining().min(self.pending.len());
        buf.put_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        ready!(Pin::new(&mut self.inner).poll_ready(cx)).map_err(std::io::Error::other)?;
        Pin::new(&mut self.inner).start_send(Message::from(data.to_vec())).map_err(std::io::Error::other)?;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx).map_err(std::io::Error::other)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx).map_err(std::io::Error::other)
    }
}

#[test]
fn a_websocket_carried_inside_another_on_one_thread_reads_its_messages() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut inner_client =
            laputa::tokio::WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
        let inner_server = laputa::tokio::WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
        let tunnel = Tunnel { inner: inner_server, pending: Vec::new() };
        let mut outer_server =
            laputa::tokio::WebSocket::from_upgraded(tunnel, Connection::new(Role::Server, Config::default()));
        // The outer client's frames, carried in one inner message.
        let mut outer_client = Connection::new(Role::Client, Config::default());
        outer_client.send(Message::from("hello")).unwrap();
        outer_client.send(Message::from(vec![7u8; 100_000])).unwrap();
        let mut bytes = Vec::new();
        outer_client.poll_transmit(Instant::now(), &mut bytes);
        inner_client.send(Message::from(bytes)).await.unwrap();
        assert_eq!(outer_server.recv().await.unwrap().as_text(), Some("hello"));
        assert_eq!(outer_server.recv().await.unwrap().payload(), &[7u8; 100_000][..]);
    });
}
