//! Broadcast server on `laputa::server` (`Server`, one service per path, `Sessions::broadcast`),
//! on the current-thread tokio runtime every server here uses. Subscribers connect to `/sub`;
//! every message a publisher sends on `/pub` goes to every subscriber, encoded once
//! (`PreparedMessage`: one frame, its payload shared by every session's queue).
//!
//! `broadcast-laputa [--addr HOST:PORT] [--count-allocs HOST:PORT] [--deflate] [--per-session]`:
//! with `--deflate`, `/sub` accepts permessage-deflate without server context takeover (level 1,
//! messages under 64 bytes uncompressed), so that one compressed frame serves every subscriber;
//! with `--per-session`, each message is sent to each session with `Session::send` instead of
//! `broadcast`: encoded (and compressed) once per session, as a library without prepared
//! messages does it.

use laputa::core::server::Admission;
use laputa::server::{Server, Service, Session};
use laputa::tokio::Tokio;
use laputa::{DeflateConfig, Message};
use laputa_bench::{fail, tokio_runtime, CountingAlloc, ServerOptions};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let options = ServerOptions::from_env(&["per-session"]);
    let per_session = options.args.switch("per-session");
    let publisher_config = options.laputa_config();
    let mut subscriber_config = publisher_config.clone();
    if options.deflate {
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = true;
        subscriber_config.deflate = Some(deflate);
    }
    tokio_runtime().block_on(async move {
        let subscribers =
            Service::new(|| |_: &Session, _: Message| {}).admission(Admission::new().config(subscriber_config));
        let builder = Server::builder()
            .bind(&options.addr)
            // 10,000 subscribers and a publisher: above the default limit of 10,000.
            .max_connections(100_000)
            .service("/sub", subscribers)
            .unwrap_or_else(|e| fail(e));
        let server = builder.start::<Tokio>().await.unwrap_or_else(|e| fail(e));
        let sessions = server.sessions("/sub").unwrap_or_else(|| fail("no /sub service"));
        let publisher = Service::new(move || {
            let sessions = sessions.clone();
            move |_: &Session, message: Message| {
                if per_session {
                    for session in sessions.all() {
                        session.send(message.clone());
                    }
                } else {
                    sessions.broadcast(message);
                }
            }
        })
        .admission(Admission::new().config(publisher_config));
        server.add_service("/pub", publisher).unwrap_or_else(|e| fail(e));
        std::future::pending::<()>().await
    });
}
