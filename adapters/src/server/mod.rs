//! A WebSocket server with services by path, sessions and broadcast: websocket-sharp's
//! `WebSocketServer`, `WebSocketBehavior` and `WebSocketSessionManager`, on every runtime.
//!
//! - A [`Service`] is mounted at a path: a factory of [`Behavior`]s (one per session, whose
//!   synchronous hooks never block), the core's admission rules for its requests
//!   ([`Admission`](laputa_core::server::Admission): Host, Origin, cookies, Basic and Digest
//!   authentication, subprotocols, extensions, the sessions' `Config`), and its sessions'
//!   outbound policy.
//! - A [`Session`] handle is `Send + Sync + Clone` and works from any thread or task: sending
//!   queues in the session's bounded outbound queue and returns at once.
//! - [`Sessions`] holds a service's sessions: lookup by id, broadcast encoded once (one frame
//!   shared by every queue), topics, pings and the sweep, counters ([`Stats`]).
//! - Every session's queue is bounded in bytes; when a peer reads slower than the server sends,
//!   the service's [`SlowConsumer`] policy drops the message for that session or closes it.
//!   Pings, pongs and close frames are never dropped, and one session that stops reading never
//!   slows the others.
//!
//! The decisions (routing, 404, the validators' answers, authentication challenges and their
//! verification, every HTTP answer) are the core's ([`laputa_core::server`]); this module runs
//! them, with the same [`Server`] type over either driver:
//!
//! - an async runtime (`ServerBuilder::start::<R>`, `R` a `ServerRuntime`: tokio, smol,
//!   async-std): one task per connection;
//! - threads, on the blocking adapter (`ServerBuilder::start_blocking`, giving a
//!   `BlockingServer`, feature `blocking`): an accept thread, and per session a reader thread
//!   (blocked in `read` with no lock held) and a writer thread (woken by the session's queue),
//!   so that a send from any thread goes out at once; every write is bounded by the core's
//!   deadlines, so no peer holds a thread past its write-stall or close timeout.
//!
//! On threads, with laputa's blocking client:
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! use laputa::server::{Server, Service, Session};
//! use laputa::{CloseCode, Message};
//!
//! let server = Server::builder()
//!     .bind("127.0.0.1:0")
//!     .service("/Chat", Service::new(|| |session: &Session, message: Message| {
//!         session.sessions().broadcast(message);
//!     }))?
//!     .start_blocking()?;
//! let (mut ws, _) = laputa::blocking::connect(format!("ws://{}/Chat", server.local_addr()).as_str())?;
//! ws.send("hello all")?;
//! assert_eq!(ws.read()?.as_text(), Some("hello all"));
//! server.stop(CloseCode::GOING_AWAY, "bye");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! On tokio:
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use laputa::server::{Server, Service, Session};
//! use laputa::tokio::Tokio;
//! use laputa::Message;
//!
//! let server = Server::builder()
//!     .bind("127.0.0.1:4649")
//!     .service("/Echo", Service::new(|| |session: &Session, message: Message| {
//!         session.send(message);
//!     }))?
//!     .service("/Chat", Service::new(|| |session: &Session, message: Message| {
//!         session.sessions().broadcast(message);
//!     }))?
//!     .start::<Tokio>()
//!     .await?;
//! println!("listening on ws://{}", server.local_addr());
//! # Ok(()) }
//! ```

mod behavior;
pub(crate) mod builder;
mod counters;
mod exchange;
mod handle;
mod http;
mod outbox;
mod pump;
pub(crate) mod relay;
#[cfg(feature = "_async")]
mod run;
mod service;
mod session;
mod sessions;
mod signal;
#[cfg(feature = "blocking")]
mod threads;
#[cfg(feature = "blocking")]
mod wire;

pub use behavior::Behavior;
pub use builder::{ServerBuilder, DEFAULT_MAX_CONNECTIONS};
pub use counters::Stats;
pub use handle::Server;
pub use http::{BodySink, HttpHandler, HttpRequest, HttpResponse};
pub use outbox::{Sent, SlowConsumer};
#[cfg(feature = "_async")]
pub use run::ServerRuntime;
pub use service::{Service, DEFAULT_OUTBOX_LIMIT};
pub use session::{SendWait, Session, SessionContext, SessionId};
pub use sessions::{BroadcastWait, Delivery, Sessions};
#[cfg(feature = "blocking")]
pub use threads::{BlockingServer, Threads};
