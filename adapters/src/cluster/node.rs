//! One node's side of the backplane: what it hands to Redis (the relay of its session
//! managers), what it does with what other nodes send, and its session queries.

use super::{ClusterSessions, ClusterStats, Gap, GapHandler};
use crate::server::builder::Shared;
use crate::server::relay::Relay;
use crate::server::{SessionId, Sessions};
use laputa_core::bytes::Bytes;
use laputa_core::cluster::{Arrival, Body, Envelope, Sequencer, Sequences, Target};
use laputa_core::PreparedMessage;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The timers of a node.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) heartbeat: Duration,
    pub(super) expiry: Duration,
    pub(super) query_timeout: Duration,
    pub(super) timeout: Duration,
}

/// The names this cluster uses in Redis.
#[derive(Debug)]
pub(super) struct Keys {
    pub(super) prefix: String,
    /// The channel every node publishes to and subscribes to.
    pub(super) bus: String,
    /// The sorted set of live nodes, scored by their last heartbeat (milliseconds, Redis time).
    pub(super) nodes: String,
}

impl Keys {
    /// The channel of one node: answers to its queries.
    pub(super) fn inbox(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }
}

/// Bytes to publish on a channel.
pub(super) struct Outbound {
    pub(super) channel: String,
    pub(super) bytes: Vec<u8>,
}

/// A query waiting for the other nodes' answers.
struct Pending {
    expected: HashSet<String>,
    answers: Vec<(String, Vec<SessionId>)>,
    done: Option<oneshot::Sender<()>>,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
    gaps: AtomicU64,
    missed: AtomicU64,
    reconnects: AtomicU64,
    malformed: AtomicU64,
}

pub(super) struct Node {
    pub(super) id: String,
    pub(super) client: redis::Client,
    pub(super) keys: Keys,
    pub(super) settings: Settings,
    epoch: u64,
    sequencer: Mutex<Sequencer>,
    sequences: Mutex<Sequences>,
    outbound: mpsc::UnboundedSender<Outbound>,
    /// The bytes waiting in `outbound`, and their bound.
    queued: AtomicUsize,
    queue_limit: usize,
    servers: Mutex<Vec<Weak<Shared>>>,
    /// The other nodes alive at the last heartbeat.
    live: Mutex<Vec<String>>,
    queries: Mutex<HashMap<u64, Pending>>,
    next_query: AtomicU64,
    counters: Counters,
    pub(super) connected: AtomicBool,
    on_gap: Option<GapHandler>,
    /// Set once, by `shutdown`: the tasks end.
    pub(super) stop: watch::Sender<bool>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Node {
    pub(super) fn new(
        client: redis::Client,
        id: String,
        prefix: &str,
        settings: Settings,
        queue: usize,
        on_gap: Option<GapHandler>,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Outbound>) {
        let mut epoch = [0u8; 8];
        laputa_core::Rng::os().fill(&mut epoch);
        let (outbound, receiver) = mpsc::unbounded_channel();
        let keys = Keys { prefix: prefix.to_owned(), bus: format!("{prefix}:bus"), nodes: format!("{prefix}:nodes") };
        let node = Node {
            id,
            client,
            keys,
            settings,
            epoch: u64::from_be_bytes(epoch),
            sequencer: Mutex::new(Sequencer::new(u64::from_be_bytes(epoch))),
            sequences: Mutex::new(Sequences::new()),
            outbound,
            queued: AtomicUsize::new(0),
            queue_limit: queue,
            servers: Mutex::new(Vec::new()),
            live: Mutex::new(Vec::new()),
            queries: Mutex::new(HashMap::new()),
            next_query: AtomicU64::new(1),
            counters: Counters::default(),
            connected: AtomicBool::new(false),
            on_gap,
            stop: watch::channel(false).0,
        };
        (Arc::new(node), receiver)
    }

    pub(super) fn serve(&self, server: Weak<Shared>) {
        let mut servers = lock(&self.servers);
        servers.retain(|server| server.strong_count() > 0);
        servers.push(server);
    }

    pub(super) fn live(&self) -> Vec<String> {
        lock(&self.live).clone()
    }

    /// The registry's latest list of live nodes. A node gone from it keeps its sequence here:
    /// right after a Redis restart the registry is empty until every node beats again, and
    /// forgetting then would take a node's jump for a fresh start and hide the gap. A node that
    /// really restarts comes back under a new epoch, which the core's `Sequences` takes as such.
    pub(super) fn set_live(&self, mut nodes: Vec<String>) {
        nodes.retain(|node| *node != self.id);
        let mut live = lock(&self.live);
        for gone in live.iter().filter(|node| !nodes.contains(node)) {
            tracing::info!(node = %gone, "node left the registry");
        }
        *live = nodes;
    }

    pub(super) fn stats(&self) -> ClusterStats {
        let c = &self.counters;
        ClusterStats {
            published: c.published.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            received: c.received.load(Ordering::Relaxed),
            gaps: c.gaps.load(Ordering::Relaxed),
            missed: c.missed.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
        }
    }

    pub(super) fn published(&self, messages: u64) {
        self.counters.published.fetch_add(messages, Ordering::Relaxed);
    }

    pub(super) fn dropped(&self, messages: u64) {
        self.counters.dropped.fetch_add(messages, Ordering::Relaxed);
    }

    pub(super) fn reconnected(&self) {
        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn gap(&self, gap: Gap) {
        self.counters.gaps.fetch_add(1, Ordering::Relaxed);
        if let Gap::Missed { count, .. } = &gap {
            self.counters.missed.fetch_add(*count, Ordering::Relaxed);
        }
        tracing::warn!(node = %self.id, %gap, "cluster gap");
        if let Some(on_gap) = &self.on_gap {
            on_gap(&gap);
        }
    }

    fn envelope(&self, path: &str, seq: u64, body: Body) -> Envelope {
        Envelope { node: self.id.clone(), epoch: self.epoch, seq, path: path.to_owned(), body }
    }

    /// Queues bytes for Redis; past the queue's limit they are dropped (counted).
    fn send(&self, channel: String, bytes: Vec<u8>) {
        let len = bytes.len();
        if self.queued.fetch_add(len, Ordering::AcqRel) + len > self.queue_limit {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return self.dropped(1);
        }
        if self.outbound.send(Outbound { channel, bytes }).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            self.dropped(1);
        }
    }

    /// `outbound` was taken from the queue (published or dropped).
    pub(super) fn dequeued(&self, outbound: &Outbound) {
        self.queued.fetch_sub(outbound.bytes.len(), Ordering::AcqRel);
    }

    /// This node's sessions of the service at `path`, on each server it serves.
    fn local(&self, path: &str) -> Vec<Sessions> {
        let servers = lock(&self.servers).clone();
        servers.iter().filter_map(Weak::upgrade).filter_map(|server| server.sessions(path)).collect()
    }

    fn local_ids(&self, path: &str) -> Vec<SessionId> {
        self.local(path).iter().flat_map(Sessions::ids).collect()
    }

    /// What another node published: delivered to this node's sessions, or answered.
    pub(super) fn receive(&self, bytes: &[u8]) {
        if Envelope::publisher(bytes) == Some(self.id.as_bytes()) {
            return; // our own publish, delivered here already
        }
        let envelope = match Envelope::decode(&Bytes::copy_from_slice(bytes)) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                return tracing::debug!(%error, "not a cluster envelope");
            }
        };
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let arrival = lock(&self.sequences).arrive(&envelope);
        match arrival {
            Arrival::Duplicate => return,
            Arrival::AfterGap(gap) => {
                let (node, path) = (envelope.node.clone(), envelope.path.clone());
                self.gap(Gap::Missed { node, path, count: gap.missed });
            }
            Arrival::InOrder => {}
        }
        let Envelope { node, path, body, .. } = envelope;
        match body {
            Body::Deliver { target, message } => {
                let prepared = Arc::new(PreparedMessage::new(message));
                for sessions in self.local(&path) {
                    match &target {
                        Target::All => {
                            sessions.broadcast_local(&prepared, None);
                        }
                        Target::Except(id) => {
                            let except = SessionId::from(id.as_str());
                            sessions.broadcast_local(&prepared, Some(&except));
                        }
                        Target::Topic(topic) => {
                            sessions.publish_local(topic, &prepared);
                        }
                        Target::Session(id) => {
                            if let Some(session) = sessions.get(&SessionId::from(id.as_str())) {
                                session.send_prepared(&prepared);
                            }
                        }
                    }
                }
            }
            Body::Close { session, code, reason } => {
                for sessions in self.local(&path) {
                    if let Some(session) = sessions.get(&SessionId::from(session.as_str())) {
                        let _ = session.close_with(code, &reason);
                    }
                }
            }
            Body::Query { id } => {
                let sessions = self.local_ids(&path).iter().map(|id| id.as_str().to_owned()).collect();
                let answer = self.envelope(&path, 0, Body::Answer { id, sessions });
                self.send(self.keys.inbox(&node), answer.encode());
            }
            Body::Answer { id, sessions } => {
                let mut queries = lock(&self.queries);
                if let Some(pending) = queries.get_mut(&id) {
                    if pending.expected.contains(&node) && !pending.answers.iter().any(|(n, _)| *n == node) {
                        pending.answers.push((node, sessions.iter().map(|id| SessionId::from(id.as_str())).collect()));
                    }
                    if pending.answers.len() == pending.expected.len() {
                        if let Some(done) = pending.done.take() {
                            let _ = done.send(());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) async fn query(&self, path: &str) -> ClusterSessions {
        let local = (self.id.clone(), self.local_ids(path));
        let expected: HashSet<String> = self.live().into_iter().collect();
        if expected.is_empty() || !self.connected.load(Ordering::Relaxed) {
            return ClusterSessions { nodes: vec![local], missing: expected.into_iter().collect() };
        }
        let id = self.next_query.fetch_add(1, Ordering::Relaxed);
        let (done, answered) = oneshot::channel();
        let pending = Pending { expected: expected.clone(), answers: Vec::new(), done: Some(done) };
        lock(&self.queries).insert(id, pending);
        self.send(self.keys.bus.clone(), self.envelope(path, 0, Body::Query { id }).encode());
        let _ = tokio::time::timeout(self.settings.query_timeout, answered).await;
        let pending = lock(&self.queries).remove(&id).expect("a query is removed by its asker only");
        let answered: HashSet<&String> = pending.answers.iter().map(|(node, _)| node).collect();
        let mut missing: Vec<String> = expected.iter().filter(|node| !answered.contains(node)).cloned().collect();
        missing.sort();
        let mut nodes = vec![local];
        nodes.extend(pending.answers);
        ClusterSessions { nodes, missing }
    }

    pub(super) async fn shutdown(&self) {
        if self.stop.send_replace(true) {
            return;
        }
        let leave = async {
            let mut connection = self.client.get_multiplexed_async_connection().await?;
            redis::cmd("ZREM").arg(&self.keys.nodes).arg(&self.id).query_async::<()>(&mut connection).await
        };
        if let Err(error) = tokio::time::timeout(self.settings.timeout, leave).await.unwrap_or(Ok(())) {
            tracing::warn!(%error, node = %self.id, "could not leave the registry; it expires");
        }
    }
}

impl Relay for Node {
    fn relay(&self, path: &str, body: Body) {
        // Numbered and queued under one lock: the queue, and so Redis, carries them in order.
        let mut sequencer = lock(&self.sequencer);
        let seq = sequencer.next(path);
        self.send(self.keys.bus.clone(), self.envelope(path, seq, body).encode());
    }
}
