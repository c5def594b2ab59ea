//! The seam between a service's sessions and a backplane (`laputa::cluster`, feature
//! `redis`): what a session manager does for every node goes to its local sessions, then to
//! the relay, which carries it to the other nodes. What comes from other nodes is delivered
//! with the `*_local` methods of [`Sessions`](super::Sessions), which never relay again.

use laputa_core::cluster::Body;

/// A backplane, as the session managers see it.
pub(crate) trait Relay: Send + Sync + 'static {
    /// Hands `body`, for the service at `path`, to the other nodes. Never waits: a backplane
    /// that cannot keep up drops it (and the receivers see a gap in the sequence).
    fn relay(&self, path: &str, body: Body);
}
