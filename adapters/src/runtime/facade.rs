//! What every runtime module (`laputa::tokio`, `laputa::smol`, `laputa::async_std`) has, written
//! once: the type aliases, the free functions over the generic driver, the client transport and
//! the TCP part of the [`Runtime`](super::Runtime) impl, each with a doc example in the
//! runtime's own terms.

/// Emits a runtime module's public items for `$runtime` (whose module is `$module`):
///
/// - `TcpStream` (from `$net`), `WebSocket`, `ReadHalf`, `WriteHalf` and `ClientStream`;
/// - `connect`, `connect_with`, `client`, `accept` and `accept_with`, for streams `$bound`;
/// - `ClientTransport` (TLS by `$handshake` into `$tls_stream`) and the `Runtime` impl: TCP
///   from `$net` with `TCP_NODELAY`, and the runtime's own items (`$runtime_items`: `Sleep`,
///   `JoinHandle`, `sleep_until`, `reset_sleep`, `spawn`).
///
/// The strings are what the doc examples differ in: `$block_on` runs a future to its end
/// (`smol::block_on`), `$spawn` starts a task whose `.await$joined` is its output,
/// `$unix_stream` is the runtime's Unix socket, and `$stream` says which streams a
/// `WebSocket` takes.
macro_rules! runtime_module {
    (
        runtime: $runtime:ident, $module:literal,
        net: $($net:ident)::+, $net_doc:literal,
        block_on: $block_on:literal,
        spawn: $spawn:literal, $joined:literal,
        unix_stream: $unix_stream:literal,
        stream: $stream:literal,
        bound: [$($bound:tt)+],
        tls: $tls_stream:ident, $handshake:ident,
        impl Runtime { $($runtime_items:tt)* }
    ) => {
        pub use $($net)::+::TcpStream;

        #[doc = concat!("A WebSocket over ", $stream, ".

```
use laputa::", $module, "::WebSocket;

// Answers one message with its echo.
async fn echo_once(ws: &mut WebSocket) -> Result<(), laputa::Error> {
    let message = ws.recv().await?;
    ws.send(message).await
}

", $block_on, "(async {
# use laputa::{core::Connection, Config, Role};
# let listener = ", $net_doc, "::TcpListener::bind(\"127.0.0.1:0\").await?;
# let stream = ", $net_doc, "::TcpStream::connect(listener.local_addr()?).await?;
# let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
# let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
    // `client` and `server` are the two ends of a connection over TCP.
    client.send(\"BALUS\").await?;
    echo_once(&mut server).await?;
    assert_eq!(client.recv().await?.as_text(), Some(\"BALUS\"));
    Ok::<(), laputa::Error>(())
})?;
# Ok::<(), laputa::Error>(())
```")]
        pub type WebSocket<S = TcpStream> = $crate::runtime::WebSocket<S, $runtime>;

        #[doc = concat!("The receiving half of a split [`WebSocket`].

```
use laputa::", $module, "::ReadHalf;

// A reading task: the texts that arrive until the connection ends.
async fn texts(mut reader: ReadHalf) -> Vec<String> {
    let mut texts = Vec::new();
    while let Ok(message) = reader.recv().await {
        texts.extend(message.as_text().map(String::from));
    }
    texts
}

", $block_on, "(async {
# use laputa::{core::Connection, ", $module, "::WebSocket, Config, Role};
# let listener = ", $net_doc, "::TcpListener::bind(\"127.0.0.1:0\").await?;
# let stream = ", $net_doc, "::TcpStream::connect(listener.local_addr()?).await?;
# let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
# let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
    // `client` and `server` are the two ends of a connection over TCP.
    let (reader, _writer) = server.split();
    let reading = ", $spawn, "(texts(reader));
    client.send(\"one\").await?;
    client.send(\"two\").await?;
    client.close().await?;
    assert_eq!(reading.await", $joined, ", [\"one\", \"two\"]);
    Ok::<(), laputa::Error>(())
})?;
# Ok::<(), laputa::Error>(())
```")]
        pub type ReadHalf<S = TcpStream> = $crate::runtime::ReadHalf<S, $runtime>;

        #[doc = concat!("The sending half of a split [`WebSocket`].

```
use laputa::", $module, "::WriteHalf;

// The sending side: a countdown.
async fn countdown(writer: &mut WriteHalf, from: u32) -> Result<(), laputa::Error> {
    for n in (1..=from).rev() {
        writer.send(n.to_string()).await?;
    }
    Ok(())
}

", $block_on, "(async {
# use laputa::{core::Connection, ", $module, "::WebSocket, Config, Role};
# let listener = ", $net_doc, "::TcpListener::bind(\"127.0.0.1:0\").await?;
# let stream = ", $net_doc, "::TcpStream::connect(listener.local_addr()?).await?;
# let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
# let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
    // `client` and `server` are the two ends of a connection over TCP.
    let (_reader, mut writer) = client.split();
    countdown(&mut writer, 3).await?;
    for expected in [\"3\", \"2\", \"1\"] {
        assert_eq!(server.recv().await?.as_text(), Some(expected));
    }
    Ok::<(), laputa::Error>(())
})?;
# Ok::<(), laputa::Error>(())
```")]
        pub type WriteHalf<S = TcpStream> = $crate::runtime::WriteHalf<S, $runtime>;

        $crate::runtime::connect::impl_client_transport!($runtime, $tls_stream, $handshake);

        /// The stream of a client connection that [`connect`] opened: TCP for `ws://`, TLS over
        /// TCP for `wss://` (with the `rustls` feature).
        pub type ClientStream = <$runtime as $crate::runtime::ClientTransport>::ClientStream;

        impl $crate::runtime::Runtime for $runtime {
            type TcpStream = TcpStream;
            type TcpListener = $($net)::+::TcpListener;

            $($runtime_items)*

            fn connect(host: &str, port: u16) -> impl std::future::Future<Output = std::io::Result<TcpStream>> + Send {
                let host = host.to_owned();
                async move {
                    let stream = TcpStream::connect((host.as_str(), port)).await?;
                    stream.set_nodelay(true)?;
                    Ok(stream)
                }
            }

            fn bind(addr: &str) -> impl std::future::Future<Output = std::io::Result<Self::TcpListener>> + Send {
                let addr = addr.to_owned();
                async move { $($net)::+::TcpListener::bind(addr.as_str()).await }
            }

            fn local_addr(listener: &Self::TcpListener) -> std::io::Result<std::net::SocketAddr> {
                listener.local_addr()
            }

            async fn accept(listener: &Self::TcpListener) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
                let (stream, addr) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok((stream, addr))
            }
        }

        #[doc = concat!("Opens a client connection (a URL, an `http::Request`, a [`ClientRequest`](crate::ClientRequest)
or a [`ClientBuilder`](crate::ClientBuilder)) with the default [`Config`](crate::Config): see
[`runtime::connect`](crate::runtime::connect).

```no_run
# async fn run() -> Result<(), laputa::Error> {
let (mut ws, _response) = laputa::", $module, "::connect(\"ws://127.0.0.1:9001/\").await?;
ws.send(\"hello\").await?;
# Ok(()) }
```")]
        pub async fn connect(
            request: impl $crate::IntoClientRequest,
        ) -> Result<(WebSocket<ClientStream>, $crate::http::Response<()>), $crate::Error> {
            $crate::runtime::connect::<$runtime>(request).await
        }

        #[doc = concat!("Opens a client connection for a prepared request (subprotocols, Origin, extra headers).

```no_run
# async fn run() -> Result<(), laputa::Error> {
use laputa::{ClientRequest, Config};
let request = ClientRequest::new(\"ws://127.0.0.1:9001/chat\")?.protocol(\"chat\");
let (ws, response) = laputa::", $module, "::connect_with(request, Config::default()).await?;
# Ok(()) }
```")]
        pub async fn connect_with(
            request: impl $crate::IntoClientRequest,
            config: $crate::Config,
        ) -> Result<(WebSocket<ClientStream>, $crate::http::Response<()>), $crate::Error> {
            $crate::runtime::connect_with::<$runtime>(request, config).await
        }

        #[doc = concat!("Runs the client handshake over a stream the caller connected (a Unix socket, a TLS stream).

```no_run
# async fn run() -> Result<(), laputa::Error> {
use laputa::{ClientRequest, Config};
let stream = ", $unix_stream, "::connect(\"/run/app.sock\").await?;
let request = ClientRequest::new(\"ws://localhost/\")?;
let (ws, _) = laputa::", $module, "::client(stream, request, Config::default()).await?;
# Ok(()) }
```")]
        pub async fn client<S: $($bound)+>(
            stream: S,
            request: $crate::ClientRequest,
            config: $crate::Config,
        ) -> Result<(WebSocket<S>, $crate::http::Response<()>), $crate::Error> {
            $crate::runtime::client::<S, $runtime>(stream, request, config).await
        }

        #[doc = concat!("Answers the opening handshake on a server with the default [`Config`](crate::Config), accepting
any request.

```no_run
# async fn run(stream: ", $net_doc, "::TcpStream) -> Result<(), laputa::Error> {
let mut ws = laputa::", $module, "::accept(stream).await?;
let message = ws.recv().await?;
# Ok(()) }
```")]
        pub async fn accept<S: $($bound)+>(stream: S) -> Result<WebSocket<S>, $crate::Error> {
            $crate::runtime::accept::<S, $runtime>(stream).await
        }

        #[doc = concat!("Answers the opening handshake, letting `decide` accept the request (choosing a subprotocol,
adding headers) or reject it with an HTTP response.

```no_run
use laputa::{Accept, Config, Reject};

# async fn run(stream: ", $net_doc, "::TcpStream) -> Result<(), laputa::Error> {
let ws = laputa::", $module, "::accept_with(stream, Config::default(), |request| {
    if request.path() != \"/Laputa\" {
        return Err(Reject::new(http::StatusCode::NOT_FOUND).body(\"no such service\"));
    }
    Ok(Accept::default())
})
.await?;
# Ok(()) }
```")]
        pub async fn accept_with<S, F>(stream: S, config: $crate::Config, decide: F) -> Result<WebSocket<S>, $crate::Error>
        where
            S: $($bound)+,
            F: FnOnce(&$crate::IncomingRequest) -> Result<$crate::Accept, $crate::Reject>,
        {
            $crate::runtime::accept_with::<S, $runtime, F>(stream, config, decide).await
        }
    };
}

pub(crate) use runtime_module;
