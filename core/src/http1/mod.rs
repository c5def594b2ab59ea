//! HTTP/1.1 messages, sans-IO: bounded head readers for requests and responses, body framing
//! (RFC 9112 section 6), and head writers. Shared by the opening handshake, the proxy `CONNECT`
//! exchange and the connect flow.
//!
//! Like the rest of the core, nothing here touches a socket: readers are fed the bytes a driver
//! read and say how many of them they used, so that what follows a message (its body, the next
//! message, or the other protocol after a `101` or a tunnel's `200`) is never lost.
//!
//! - [`ResponseReader`] and [`RequestReader`] read one head at a time, bounded by [`Limits`],
//!   into a [`ResponseHead`] or [`RequestHead`] (built on `httparse`, with [`http`] types). A
//!   response reader skips interim `1xx` responses (but `101`).
//! - [`ResponseHead::framing`] and [`RequestHead::framing`] decide how the body is delimited
//!   ([`Framing`], RFC 9112 section 6.3); a [`BodyDecoder`] reads it, bounded, and says where
//!   it ended ([`Progress`]).
//! - [`RequestHead::write`], [`ResponseHead::write`] and [`write_response`] write heads;
//!   [`write_chunk`] and [`write_last_chunk`] write a chunked body.
//! - Every failure is an [`Http1Error`], which carries the status a server answers with (400,
//!   408, 413, 414, 431, 501, 505).
//! - [`ServerConn`] is a whole server connection on these pieces: keep-alive, pipelining,
//!   bodies, `100-continue`, errors, timeouts and the upgrade hand-off; see [`server`] for its
//!   drive loop and examples.
//!
//! # The drive loop
//!
//! For each message: feed reads to the head reader until it yields a head and the number of
//! bytes it used; decide the framing from the head; feed the rest of that read, then further
//! reads, to a [`BodyDecoder`] until it is [`Progress::Done`]; what follows is the next message.
//! At the end of the stream, [`BodyDecoder::push_eof`] ends a body read until the connection
//! closes, and fails any other that is cut short.
//!
//! Here a client asks a proxy for a tunnel, is challenged with a `407` whose body is chunked,
//! reads that body to its end so that the kept-alive connection can carry the retry, and gets
//! the tunnel, whose first bytes came in the same read as the `200`:
//!
//! ```
//! use laputa_core::http::{header, HeaderValue, Method, StatusCode};
//! use laputa_core::http1::{BodyDecoder, Limits, Progress, RequestHead, ResponseReader};
//!
//! /// Reads one response from `reads` (each item stands for one read from the socket): its
//! /// head, its body, and the bytes after it.
//! fn exchange<'a>(
//!     reader: &mut ResponseReader,
//!     method: &Method,
//!     reads: &mut impl Iterator<Item = &'a [u8]>,
//! ) -> Result<(laputa_core::http1::ResponseHead, Vec<u8>, Vec<u8>), Box<dyn std::error::Error>> {
//!     let (head, mut rest) = loop {
//!         let read = reads.next().ok_or("the connection closed before the head")?;
//!         if let Some((head, used)) = reader.push(read)? {
//!             break (head, &read[used..]);
//!         }
//!     };
//!     let mut decoder = BodyDecoder::new(head.framing(method)?, 64 << 10);
//!     let mut body = Vec::new();
//!     loop {
//!         if let Progress::Done(used) = decoder.push(rest, &mut body)? {
//!             return Ok((head, body, rest[used..].to_vec()));
//!         }
//!         match reads.next() {
//!             Some(read) => rest = read,
//!             None => {
//!                 decoder.push_eof()?; // fine only for a body read until the close
//!                 return Ok((head, body, Vec::new()));
//!             }
//!         }
//!     }
//! }
//!
//! let mut connect = RequestHead::new(Method::CONNECT, "example.com:443".parse()?);
//! connect.headers.insert(header::HOST, HeaderValue::from_static("example.com:443"));
//! let mut sent = Vec::new();
//! connect.write(&mut sent);
//!
//! // What the proxy answers, as the socket hands it over.
//! let mut reads = [
//!     &b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n"[..],
//!     b"Transfer-Encoding: chunked\r\n\r\n7\r\nsig",
//!     b"n in\r\n0\r\n\r\n",
//!     b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
//! ]
//! .into_iter();
//!
//! let mut reader = ResponseReader::new(Limits::default());
//! let (head, body, rest) = exchange(&mut reader, &Method::CONNECT, &mut reads)?;
//! assert_eq!(head.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
//! assert_eq!(body, b"sign in");
//! assert!(head.persistent() && rest.is_empty(), "the retry may go on this connection");
//!
//! connect.headers.insert(header::PROXY_AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwdw=="));
//! connect.write(&mut sent);
//! let (head, body, rest) = exchange(&mut reader, &Method::CONNECT, &mut reads)?;
//! assert_eq!((head.status, body.len()), (StatusCode::OK, 0));
//! assert_eq!(rest, b"\x16\x03\x01", "the start of the TLS handshake, through the tunnel");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A server runs the same loop with a [`RequestReader`] and [`RequestHead::framing`]; the reader
//! is ready for the next pipelined request as soon as it yields one:
//!
//! ```
//! use laputa_core::http1::{BodyDecoder, Limits, Progress, RequestReader};
//!
//! let input = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
//! let mut reader = RequestReader::new(Limits::default());
//! let mut rest = &input[..];
//! let mut seen = Vec::new();
//! while let Some((head, used)) = reader.push(rest)? {
//!     let mut decoder = BodyDecoder::new(head.framing()?, 1 << 20);
//!     let mut body = Vec::new();
//!     let Progress::Done(body_used) = decoder.push(&rest[used..], &mut body)? else { unreachable!() };
//!     seen.push((head.target.to_string(), body));
//!     rest = &rest[used + body_used..];
//! }
//! assert_eq!(seen, [("/a".to_owned(), b"hi".to_vec()), ("/b".to_owned(), Vec::new())]);
//! # Ok::<(), laputa_core::http1::Http1Error>(())
//! ```

mod body;
mod error;
mod framing;
mod head;
mod reader;
pub mod server;
mod tokens;
mod write;

pub use body::{BodyDecoder, Progress, MAX_CHUNK_EXTENSIONS, MAX_TRAILERS, MAX_TRAILER_SIZE};
pub use error::Http1Error;
pub use framing::{request_framing, response_framing, Framing};
pub use head::{RequestHead, ResponseHead};
pub use reader::{Limits, RequestReader, ResponseReader};
pub use server::{BodyKind, HttpEvent, ResponseError, ServerConn, ServerLimits};
pub use tokens::{has_token, is_token, list_elements, single_value, trim_ows};
pub use write::{write_chunk, write_last_chunk, write_response};

pub(crate) use write::{push_header, push_headers};
