//! The node's three tasks on tokio: the publisher (the queue into Redis), the subscriber (the
//! bus and this node's inbox, into [`Node::receive`]) and the heartbeat (the registry). Each
//! reconnects by itself with backoff; none ever ends the node.

use super::node::{Node, Outbound};
use super::Gap;
use futures_core::Stream;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The first wait after Redis was lost; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The most messages published in one pipeline.
const MAX_BATCH: u64 = 256;

pub(super) fn spawn(runtime: &tokio::runtime::Handle, node: &Arc<Node>, outbound: mpsc::UnboundedReceiver<Outbound>) {
    runtime.spawn(publisher(node.clone(), outbound));
    runtime.spawn(subscriber(node.clone()));
    runtime.spawn(heartbeat(node.clone()));
}

async fn connect(node: &Node) -> redis::RedisResult<MultiplexedConnection> {
    let timeout = Some(node.settings.timeout);
    let config = AsyncConnectionConfig::new().set_connection_timeout(timeout).set_response_timeout(timeout);
    node.client.get_multiplexed_async_connection_with_config(&config).await
}

/// Resolves once the node shuts down.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn publisher(node: Arc<Node>, mut queue: mpsc::UnboundedReceiver<Outbound>) {
    let mut stop = node.stop.subscribe();
    let mut backoff = MIN_BACKOFF;
    loop {
        match connect(&node).await {
            Ok(mut connection) => {
                backoff = MIN_BACKOFF;
                loop {
                    let next = tokio::select! {
                        next = queue.recv() => next,
                        () = stopped(&mut stop) => return,
                    };
                    let Some(first) = next else { return };
                    // Everything waiting goes in one pipeline: one round trip to Redis for a
                    // batch, where one PUBLISH at a time capped a node at one per round trip.
                    let mut pipe = redis::pipe();
                    let mut batch = 0;
                    let mut outbound = Some(first);
                    while let Some(message) = outbound.take() {
                        node.dequeued(&message);
                        pipe.cmd("PUBLISH").arg(message.channel).arg(message.bytes).ignore();
                        batch += 1;
                        if batch < MAX_BATCH {
                            outbound = queue.try_recv().ok();
                        }
                    }
                    match pipe.query_async::<()>(&mut connection).await {
                        Ok(()) => node.published(batch),
                        Err(error) => {
                            node.dropped(batch);
                            tracing::warn!(%error, node = %node.id, "publish to Redis failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, node = %node.id, ?backoff, "Redis unreachable (publisher)"),
        }
        // Down: what comes meanwhile is dropped (the other nodes see the gap), not kept for a
        // Redis that may never come back.
        let deadline = tokio::time::Instant::now() + backoff;
        loop {
            tokio::select! {
                next = queue.recv() => match next {
                    Some(outbound) => {
                        node.dequeued(&outbound);
                        node.dropped(1);
                    }
                    None => return,
                },
                () = tokio::time::sleep_until(deadline) => break,
                () = stopped(&mut stop) => return,
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscriber(node: Arc<Node>) {
    let mut stop = node.stop.subscribe();
    let mut backoff = MIN_BACKOFF;
    // Since when no subscription is in place (none yet counts: others may publish already).
    let mut down_since: Option<Instant> = None;
    let inbox = node.keys.inbox(&node.id);
    loop {
        let subscribe = async {
            let mut pubsub = node.client.get_async_pubsub().await?;
            pubsub.subscribe(&node.keys.bus).await?;
            pubsub.subscribe(&inbox).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let subscribed = tokio::select! {
            subscribed = tokio::time::timeout(node.settings.timeout, subscribe) => subscribed,
            () = stopped(&mut stop) => return,
        };
        match subscribed {
            Ok(Ok(pubsub)) => {
                node.connected.store(true, Ordering::Relaxed);
                if let Some(since) = down_since.take() {
                    node.reconnected();
                    node.gap(Gap::Disconnected { down_for: since.elapsed() });
                }
                tracing::info!(node = %node.id, "subscribed to the cluster");
                // The sink stays: its pings find a connection that died without a word, which
                // the stream alone may never tell.
                let (mut sink, mut messages) = pubsub.split();
                let first = tokio::time::Instant::now() + node.settings.heartbeat;
                let mut ping = tokio::time::interval_at(first, node.settings.heartbeat);
                ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    let next = poll_fn(|cx| Pin::new(&mut messages).poll_next(cx));
                    tokio::select! {
                        message = next => match message {
                            Some(message) => node.receive(message.get_payload_bytes()),
                            None => break,
                        },
                        _ = ping.tick() => {
                            let pong = tokio::time::timeout(node.settings.timeout, sink.ping::<redis::Value>()).await;
                            if !matches!(pong, Ok(Ok(_))) {
                                break;
                            }
                            // Alive for a heartbeat: the next loss starts its backoff afresh.
                            backoff = MIN_BACKOFF;
                        }
                        () = stopped(&mut stop) => return,
                    }
                }
                node.connected.store(false, Ordering::Relaxed);
                tracing::warn!(node = %node.id, "subscription to Redis lost; reconnecting");
            }
            Ok(Err(error)) => tracing::warn!(%error, node = %node.id, ?backoff, "Redis unreachable (subscriber)"),
            Err(_) => tracing::warn!(node = %node.id, ?backoff, "Redis did not answer in time (subscriber)"),
        }
        down_since.get_or_insert_with(Instant::now);
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stopped(&mut stop) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Every `heartbeat`: this node's score in the registry is Redis's time now; nodes whose score
/// is older than the expiry are removed; the rest are the live nodes.
async fn heartbeat(node: Arc<Node>) {
    let mut stop = node.stop.subscribe();
    let mut connection: Option<MultiplexedConnection> = None;
    let expiry_ms = u64::try_from(node.settings.expiry.as_millis()).unwrap_or(u64::MAX);
    loop {
        if connection.is_none() {
            connection = connect(&node).await.ok();
        }
        if let Some(conn) = &mut connection {
            match beat(conn, &node, expiry_ms).await {
                Ok(live) => node.set_live(live),
                Err(error) => {
                    tracing::debug!(%error, node = %node.id, "heartbeat failed");
                    connection = None;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(node.settings.heartbeat) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

async fn beat(connection: &mut MultiplexedConnection, node: &Node, expiry_ms: u64) -> redis::RedisResult<Vec<String>> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(connection).await?;
    let now_ms = secs * 1000 + micros / 1000;
    let oldest = now_ms.saturating_sub(expiry_ms);
    let (live,): (Vec<String>,) = redis::pipe()
        .atomic()
        .cmd("ZADD")
        .arg(&node.keys.nodes)
        .arg(now_ms)
        .arg(&node.id)
        .ignore()
        .cmd("ZREMRANGEBYSCORE")
        .arg(&node.keys.nodes)
        .arg("-inf")
        .arg(format!("({oldest}"))
        .ignore()
        .cmd("ZRANGE")
        .arg(&node.keys.nodes)
        .arg(0)
        .arg(-1)
        .query_async(connection)
        .await?;
    Ok(live)
}
