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
//!
//! `--redis URL [--node NAME]` (the cross-node broadcast of issue 21, `bench-run cluster`): the
//! server joins a `laputa::cluster::Cluster` on that Redis before it listens, and listens only
//! once its subscription is in place, so that a message published on one node as soon as every
//! node accepts connections reaches the others. `Sessions::broadcast` then delivers to this
//! node's subscribers and hands the message to Redis once, for the other nodes' subscribers.

use laputa::cluster::Cluster;
use laputa::core::server::Admission;
use laputa::server::{Server, Service, Session};
use laputa::tokio::Tokio;
use laputa::{DeflateConfig, Message};
use laputa_bench::{fail, tokio_runtime, CountingAlloc, ServerOptions};
use std::time::{Duration, Instant};

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
    let redis = options.args.value("redis").map(str::to_owned);
    let node = options.args.value("node").map(str::to_owned);
    tokio_runtime().block_on(async move {
        let cluster = redis.map(|url| join(&url, node.as_deref()));
        let subscribers =
            Service::new(|| |_: &Session, _: Message| {}).admission(Admission::new().config(subscriber_config));
        let builder = Server::builder()
            .bind(&options.addr)
            // 10,000 subscribers and a publisher: above the default limit of 10,000.
            .max_connections(100_000)
            .service("/sub", subscribers)
            .unwrap_or_else(|e| fail(e));
        let builder = match &cluster {
            Some(cluster) => builder.cluster(cluster),
            None => builder,
        };
        if let Some(cluster) = &cluster {
            subscribed(cluster).await;
        }
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

/// Joins the cluster on the Redis at `url` (prefix `bench`), as node `node` if given.
fn join(url: &str, node: Option<&str>) -> Cluster {
    let builder = Cluster::builder(url).prefix("bench");
    let builder = match node {
        Some(node) => builder.node(node),
        None => builder,
    };
    builder.start().unwrap_or_else(|e| fail(e))
}

/// Waits (at most 10 s) until the node's subscription to Redis is in place.
async fn subscribed(cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster.stats().connected {
        if Instant::now() > deadline {
            fail(format!("node {} did not subscribe to Redis within 10 s", cluster.node()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
