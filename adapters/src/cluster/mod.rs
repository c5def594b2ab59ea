//! Scale-out over Redis (feature `redis`): one chat across several server nodes.
//!
//! A [`Cluster`] joins a server to the other nodes that share one Redis (pub/sub, Redis 7),
//! through [`ServerBuilder::cluster`](crate::server::ServerBuilder::cluster). Each service's
//! session manager ([`Sessions`](crate::server::Sessions)) then spans every node:
//!
//! - `broadcast`, `broadcast_except` and `publish` (topics) deliver to this node's sessions as
//!   before (encoded once, zero-copy), and hand the message to Redis once, for every other node
//!   to deliver to its own sessions: a message crosses Redis once per node, never once per
//!   session, and a node never delivers its own publish twice;
//! - session ids are 128 random bits from the OS, unique across nodes without coordination;
//! - `send_to(id)` and `close_session(id)` for a session on another node answer
//!   [`Sent::Forwarded`](crate::server::Sent::Forwarded), and the node that holds it acts;
//! - [`Cluster::sessions`] asks every live node for its sessions of a path and returns what
//!   came in time, naming the nodes that did not answer, instead of failing whole.
//!
//! The nodes are known by a registry in Redis with a heartbeat: a node that stops beating (a
//! crash, a kill) leaves it within [`ClusterBuilder::expiry`], and its sessions with it.
//!
//! # Guarantees
//!
//! Redis pub/sub delivers at most once: a message published while Redis or a subscription is
//! down is lost. Losses are detected, never hidden: every node stamps what it publishes with its
//! epoch and a sequence number per service (the core's
//! [`Sequencer`](laputa_core::cluster::Sequencer)), and a node that sees a number jump, or that
//! lost its own subscription, tells the application ([`ClusterBuilder::on_gap`], [`Gap`]) and
//! counts it ([`ClusterStats`]). While Redis is down every node keeps serving its own sessions;
//! it reconnects with backoff, resubscribes and resumes by itself.
//!
//! The encoding of what crosses nodes and the gap detection are the core's
//! ([`laputa_core::cluster`]), shared with the fuzzer; this module moves bytes through Redis.
//! Its tasks run on tokio (the `redis` crate's runtime here: async-std has no support in the
//! `redis` crate, and smol's would need the tasks written a second time); the server it joins
//! may run on any runtime or on threads, since handing a message to the cluster never waits.
//! A server on smol, async-std or threads starts its cluster within a small tokio runtime of its
//! own:
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use laputa::cluster::Cluster;
//! use laputa::server::{Server, Service, Session};
//! use laputa::Message;
//!
//! // One tokio thread for the backplane; the server itself runs on its own threads.
//! let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
//! let cluster = {
//!     let _inside = tokio.enter();
//!     Cluster::builder("redis://127.0.0.1:6379/").start()?
//! };
//! let room = Service::new(|| |session: &Session, message: Message| {
//!     session.sessions().broadcast(message);
//! });
//! let server = Server::builder().bind("127.0.0.1:4649").service("/room", room)?.cluster(&cluster).start_blocking()?;
//! # let _ = server;
//! # Ok(())
//! # }
//! ```
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use laputa::cluster::Cluster;
//! use laputa::server::{Server, Service, Session};
//! use laputa::Message;
//!
//! let cluster = Cluster::builder("redis://127.0.0.1:6379/")
//!     .on_gap(|gap| tracing::warn!(%gap, "chat messages lost between nodes"))
//!     .start()?;
//! let chat = Service::new(|| |session: &Session, message: Message| {
//!     session.sessions().broadcast(message);
//! });
//! let server = Server::builder().bind("127.0.0.1:4649").service("/chat", chat)?.cluster(&cluster).start::<laputa::tokio::Tokio>().await?;
//! let everyone = cluster.sessions("/chat").await;
//! println!("{} in the chat, {} nodes silent", everyone.count(), everyone.missing.len());
//! # let _ = server;
//! # Ok(())
//! # }
//! ```

mod node;
mod tasks;

use crate::server::SessionId;
use node::Node;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A server node's membership of a cluster: cheap to clone, shared by the servers that use it.
/// Its tasks run on the tokio runtime it was started on until [`shutdown`](Self::shutdown).
///
/// ```no_run
/// # fn run() -> Result<(), laputa::cluster::ClusterError> {
/// let cluster = laputa::cluster::Cluster::builder("redis://127.0.0.1:6379/").prefix("chat").start()?;
/// println!("this node is {}", cluster.node());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cluster(Arc<Node>);

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster").field("node", &self.0.id).field("prefix", &self.0.keys.prefix).finish()
    }
}

/// What a node learns about messages lost between nodes.
///
/// ```
/// use laputa::cluster::Gap;
///
/// let gap = Gap::Missed { node: "b".into(), path: "/chat".into(), count: 3 };
/// assert_eq!(gap.to_string(), "3 messages of /chat from node b were lost");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Gap {
    /// The sequence of `node` for the service at `path` jumped: `count` messages never came
    /// (Redis restarted, a subscription dropped, or `node` published while Redis was down).
    Missed {
        /// The node that published them.
        node: String,
        /// Their service.
        path: String,
        /// How many.
        count: u64,
    },
    /// This node's subscription was down for `down_for` (Redis unreachable): what the others
    /// published meanwhile is lost.
    Disconnected {
        /// How long.
        down_for: Duration,
    },
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gap::Missed { node, path, count } => write!(f, "{count} messages of {path} from node {node} were lost"),
            Gap::Disconnected { down_for } => write!(f, "the subscription to Redis was down for {down_for:?}"),
        }
    }
}

/// The counters of a node's backplane.
///
/// ```no_run
/// # fn show(cluster: &laputa::cluster::Cluster) {
/// let stats = cluster.stats();
/// println!("{} published, {} dropped, {} lost in gaps", stats.published, stats.dropped, stats.missed);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClusterStats {
    /// Messages published to Redis.
    pub published: u64,
    /// Messages for other nodes that were never published: Redis was down, or the queue to it
    /// was full ([`ClusterBuilder::queue_limit`]).
    pub dropped: u64,
    /// Messages received from other nodes.
    pub received: u64,
    /// Gaps reported ([`Gap`]).
    pub gaps: u64,
    /// Messages known lost by sequence numbers (the sum of [`Gap::Missed`] counts).
    pub missed: u64,
    /// Subscriptions made again after Redis was lost.
    pub reconnects: u64,
    /// Received bytes that were not an envelope (from something else on the channel).
    pub malformed: u64,
    /// Whether the subscription is in place now.
    pub connected: bool,
}

/// The sessions of one service across the cluster: every node's answer that came in time.
///
/// ```
/// use laputa::cluster::ClusterSessions;
/// use laputa::server::SessionId;
///
/// let seen = ClusterSessions {
///     nodes: vec![("a".into(), vec![SessionId::random()]), ("b".into(), vec![])],
///     missing: vec!["c".into()],
/// };
/// assert_eq!(seen.count(), 1);
/// assert!(!seen.is_complete(), "node c did not answer");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSessions {
    /// Each node that answered (this one first) with its session ids.
    pub nodes: Vec<(String, Vec<SessionId>)>,
    /// The live nodes that did not answer within [`ClusterBuilder::query_timeout`].
    pub missing: Vec<String>,
}

impl ClusterSessions {
    /// How many sessions the nodes that answered hold.
    ///
    /// ```
    /// assert_eq!(laputa::cluster::ClusterSessions::default().count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.nodes.iter().map(|(_, ids)| ids.len()).sum()
    }

    /// Every session id the nodes that answered hold.
    ///
    /// ```
    /// assert!(laputa::cluster::ClusterSessions::default().ids().is_empty());
    /// ```
    pub fn ids(&self) -> Vec<SessionId> {
        self.nodes.iter().flat_map(|(_, ids)| ids.iter().cloned()).collect()
    }

    /// Every live node answered.
    ///
    /// ```
    /// assert!(laputa::cluster::ClusterSessions::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Why a cluster did not start.
///
/// ```
/// let error = laputa::cluster::Cluster::builder("http://not-redis/").start().unwrap_err();
/// assert!(matches!(error, laputa::cluster::ClusterError::Url(_)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClusterError {
    /// The Redis URL is not one the `redis` crate takes.
    Url(redis::RedisError),
    /// The node id is empty or longer than [`MAX_ID_LEN`](laputa_core::cluster::MAX_ID_LEN).
    NodeId(String),
    /// `start` was called outside a tokio runtime.
    NoRuntime,
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Url(error) => write!(f, "bad Redis URL: {error}"),
            ClusterError::NodeId(id) => write!(f, "bad node id {id:?}: 1 to 255 bytes"),
            ClusterError::NoRuntime => f.write_str("a cluster starts within a tokio runtime"),
        }
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClusterError::Url(error) => Some(error),
            _ => None,
        }
    }
}

type GapHandler = Arc<dyn Fn(&Gap) + Send + Sync>;

/// The bytes of messages that may wait for Redis by default: a few seconds of a busy chat, and
/// a bound on what a Redis that stalls costs each node.
///
/// ```
/// assert_eq!(laputa::cluster::DEFAULT_QUEUE_LIMIT, 16 << 20);
/// ```
pub const DEFAULT_QUEUE_LIMIT: usize = 16 << 20;

/// Configures a [`Cluster`]: the Redis URL, the key prefix, the node's id, the timers.
///
/// ```
/// use std::time::Duration;
///
/// let builder = laputa::cluster::Cluster::builder("redis://:secret@127.0.0.1:6379/0")
///     .prefix("chat")
///     .node("eu-1")
///     .heartbeat(Duration::from_secs(1))
///     .expiry(Duration::from_secs(5))
///     .query_timeout(Duration::from_millis(500));
/// # let _ = builder;
/// ```
#[must_use = "a builder does nothing until started"]
pub struct ClusterBuilder {
    url: String,
    prefix: String,
    node: Option<String>,
    heartbeat: Duration,
    expiry: Duration,
    query_timeout: Duration,
    timeout: Duration,
    queue: usize,
    on_gap: Option<GapHandler>,
    #[cfg(feature = "rustls")]
    tls_roots: Option<Vec<u8>>,
}

impl fmt::Debug for ClusterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("prefix", &self.prefix)
            .field("node", &self.node)
            .field("heartbeat", &self.heartbeat)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster on the Redis at `url`: `redis://[[user]:password@]host[:port][/db]`, or
    /// `rediss://` for TLS (with feature `rustls`; the platform's roots, or
    /// [`tls_root_certificates`](ClusterBuilder::tls_root_certificates)).
    ///
    /// ```
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1:6379/");
    /// # let _ = builder;
    /// ```
    pub fn builder(url: &str) -> ClusterBuilder {
        ClusterBuilder {
            url: url.to_owned(),
            prefix: "laputa".into(),
            node: None,
            heartbeat: Duration::from_secs(1),
            expiry: Duration::from_secs(5),
            query_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            queue: DEFAULT_QUEUE_LIMIT,
            on_gap: None,
            #[cfg(feature = "rustls")]
            tls_roots: None,
        }
    }

    /// This node's id.
    ///
    /// ```no_run
    /// # fn show(cluster: &laputa::cluster::Cluster) {
    /// tracing::info!(node = cluster.node(), "joined");
    /// # }
    /// ```
    pub fn node(&self) -> &str {
        &self.0.id
    }

    /// The other nodes alive at the last heartbeat.
    ///
    /// ```no_run
    /// # fn show(cluster: &laputa::cluster::Cluster) {
    /// println!("with {} other nodes", cluster.nodes().len());
    /// # }
    /// ```
    pub fn nodes(&self) -> Vec<String> {
        self.0.live()
    }

    /// The counters of this node's backplane.
    ///
    /// ```no_run
    /// # fn show(cluster: &laputa::cluster::Cluster) {
    /// assert!(cluster.stats().connected, "Redis is up");
    /// # }
    /// ```
    pub fn stats(&self) -> ClusterStats {
        self.0.stats()
    }

    /// The sessions of the service at `path` on every node: this node's, and those of each
    /// live node that answers within the query timeout; the others are named in `missing`.
    ///
    /// ```no_run
    /// # async fn show(cluster: &laputa::cluster::Cluster) {
    /// let chat = cluster.sessions("/chat").await;
    /// if !chat.is_complete() {
    ///     tracing::warn!(missing = ?chat.missing, "some nodes did not answer");
    /// }
    /// println!("{} in the chat", chat.count());
    /// # }
    /// ```
    pub async fn sessions(&self, path: &str) -> ClusterSessions {
        self.0.query(path).await
    }

    /// Leaves the cluster: this node leaves the registry at once (not at its expiry) and its
    /// tasks end. Sessions on this node stay open; their services stop spanning nodes.
    ///
    /// ```no_run
    /// # async fn leave(cluster: laputa::cluster::Cluster) {
    /// cluster.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        self.0.shutdown().await;
    }

    /// The relay the services' session managers hand their messages to.
    pub(crate) fn relay(&self) -> Arc<dyn crate::server::relay::Relay> {
        self.0.clone()
    }

    /// Delivers what other nodes send to the services of `server`.
    pub(crate) fn serve(&self, server: std::sync::Weak<crate::server::builder::Shared>) {
        self.0.serve(server);
    }
}

impl ClusterBuilder {
    /// The prefix of the keys and channels this cluster uses in Redis (`laputa`): clusters
    /// with different prefixes share a Redis without hearing each other.
    ///
    /// ```
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").prefix("staging");
    /// # let _ = builder;
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// This node's id, unique in the cluster (1 to 255 bytes); random by default. A node
    /// restarted with the same id starts a new epoch, so its old sequence is not mistaken for
    /// a gap.
    ///
    /// ```
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").node("web-3");
    /// # let _ = builder;
    /// ```
    pub fn node(mut self, id: &str) -> Self {
        self.node = Some(id.to_owned());
        self
    }

    /// How often this node tells the registry it is alive (1 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").heartbeat(Duration::from_millis(500));
    /// # let _ = builder;
    /// ```
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// How long after its last heartbeat a node leaves the registry (5 s): a node killed
    /// without a word is forgotten, and its sessions with it, within this.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").expiry(Duration::from_secs(3));
    /// # let _ = builder;
    /// ```
    pub fn expiry(mut self, after: Duration) -> Self {
        self.expiry = after;
        self
    }

    /// How long [`Cluster::sessions`] waits for the other nodes' answers (1 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").query_timeout(Duration::from_millis(200));
    /// # let _ = builder;
    /// ```
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// The bound of a connection attempt and of a command's answer from Redis (2 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").timeout(Duration::from_secs(1));
    /// # let _ = builder;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many bytes of messages may wait for Redis ([`DEFAULT_QUEUE_LIMIT`], 16 MiB); past it
    /// they are dropped and counted, and the other nodes see the gap.
    ///
    /// ```
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/").queue_limit(1 << 20);
    /// # let _ = builder;
    /// ```
    pub fn queue_limit(mut self, bytes: usize) -> Self {
        self.queue = bytes;
        self
    }
    /// Called (on the cluster's task: it must not block) for every [`Gap`] this node sees.
    ///
    /// ```
    /// let builder = laputa::cluster::Cluster::builder("redis://127.0.0.1/")
    ///     .on_gap(|gap| tracing::warn!(%gap, "messages lost between nodes"));
    /// # let _ = builder;
    /// ```
    pub fn on_gap(mut self, handler: impl Fn(&Gap) + Send + Sync + 'static) -> Self {
        self.on_gap = Some(Arc::new(handler));
        self
    }

    /// The certificates (PEM) a `rediss://` Redis is verified against, instead of the
    /// platform's roots (feature `rustls`).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("redis-ca.pem")?;
    /// let builder = laputa::cluster::Cluster::builder("rediss://:secret@redis.internal:6380/").tls_root_certificates(ca);
    /// # let _ = builder;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "rustls")]
    pub fn tls_root_certificates(mut self, pem: Vec<u8>) -> Self {
        self.tls_roots = Some(pem);
        self
    }

    /// Starts the node's tasks on the current tokio runtime. It does not wait for Redis: a
    /// node whose Redis is down serves its own sessions and joins the others once it is up.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), laputa::cluster::ClusterError> {
    /// let cluster = laputa::cluster::Cluster::builder("redis://127.0.0.1:6379/").start()?;
    /// # let _ = cluster;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(self) -> Result<Cluster, ClusterError> {
        let client = self.client().map_err(ClusterError::Url)?;
        let id = match self.node {
            Some(id) if id.is_empty() || id.len() > laputa_core::cluster::MAX_ID_LEN => {
                return Err(ClusterError::NodeId(id))
            }
            Some(id) => id,
            None => SessionId::random().as_str()[..16].to_owned(),
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ClusterError::NoRuntime)?;
        let settings = node::Settings {
            heartbeat: self.heartbeat,
            expiry: self.expiry.max(self.heartbeat),
            query_timeout: self.query_timeout,
            timeout: self.timeout,
        };
        let (node, outbound) = Node::new(client, id, &self.prefix, settings, self.queue, self.on_gap);
        tasks::spawn(&runtime, &node, outbound);
        tracing::info!(node = %node.id, prefix = %self.prefix, "cluster node started");
        Ok(Cluster(node))
    }

    fn client(&self) -> redis::RedisResult<redis::Client> {
        #[cfg(feature = "rustls")]
        if let Some(roots) = &self.tls_roots {
            let certificates = redis::TlsCertificates { client_tls: None, root_cert: Some(roots.clone()) };
            return redis::Client::build_with_tls(self.url.as_str(), certificates);
        }
        redis::Client::open(self.url.as_str())
    }
}
