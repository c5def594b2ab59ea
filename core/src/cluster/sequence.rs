//! Sequence numbers per publishing node and path: stamped by the sender ([`Sequencer`]),
//! checked by each receiver ([`Sequences`]), so that a message lost between nodes (pub/sub
//! delivers at most once: a Redis restart, a dropped subscription) is reported instead of
//! hidden.

use super::Envelope;
use std::collections::HashMap;

/// The most (node, path) sequences a [`Sequences`] tracks before it starts afresh.
const MAX_TRACKED: usize = 65_536;

/// A receiving node's view of every (publishing node, path) sequence: the epoch and the next
/// number expected.
///
/// At most 65,536 sequences are tracked: an envelope that would start one more clears them all
/// first (tracking restarts, and each sequence's next envelope is taken as its first, so a gap
/// at that moment goes unnoticed). A cluster has far fewer nodes times services; the bound only
/// keeps node ids that come and go (restarts under fresh ids) from growing the map forever.
///
/// ```
/// use laputa_core::cluster::{Arrival, Body, Envelope, Gap, Sequences};
///
/// let from_a = |epoch, seq| Envelope {
///     node: "a".into(),
///     epoch,
///     seq,
///     path: "/chat".into(),
///     body: Body::Query { id: 0 },
/// };
/// let mut sequences = Sequences::new();
/// assert_eq!(sequences.arrive(&from_a(7, 1)), Arrival::InOrder);
/// assert_eq!(sequences.arrive(&from_a(7, 4)), Arrival::AfterGap(Gap { missed: 2 }));
/// assert_eq!(sequences.arrive(&from_a(7, 4)), Arrival::Duplicate);
/// // Node "a" restarted: a new epoch, numbered from 1 again.
/// assert_eq!(sequences.arrive(&from_a(8, 1)), Arrival::InOrder);
/// ```
#[derive(Debug, Default)]
pub struct Sequences {
    /// Publishing node, then path, to where that sequence stands (looked up by `&str`, with no
    /// allocation for an envelope of a known sequence).
    nodes: HashMap<String, HashMap<String, Position>>,
    /// How many (node, path) sequences `nodes` holds.
    len: usize,
}

/// Where one (node, path) sequence stands.
#[derive(Debug, Clone, Copy)]
struct Position {
    epoch: u64,
    /// The highest number received (the next expected is one more: kept this way, the last
    /// number, `u64::MAX`, needs no special case).
    last: u64,
}

/// In order when nothing was missed, else after a gap.
fn gap_before(missed: u64) -> Arrival {
    if missed == 0 {
        Arrival::InOrder
    } else {
        Arrival::AfterGap(Gap { missed })
    }
}

/// What [`Sequences::arrive`] makes of an envelope.
///
/// ```
/// use laputa_core::cluster::{Arrival, Body, Envelope, Sequences};
///
/// let envelope = Envelope { node: "a".into(), epoch: 1, seq: 1, path: "/chat".into(), body: Body::Query { id: 0 } };
/// let mut sequences = Sequences::new();
/// // Redis delivered the same publish twice (a resubscription, say): deliver it once.
/// assert_eq!(sequences.arrive(&envelope), Arrival::InOrder);
/// assert_eq!(sequences.arrive(&envelope), Arrival::Duplicate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// In order (or the first heard from this node and path, or the first of a new epoch):
    /// deliver it.
    InOrder,
    /// Deliver it, after [`Gap`] messages were missed (the sequence jumped).
    AfterGap(Gap),
    /// An old or repeated number of the current epoch: do not deliver it again.
    Duplicate,
}

/// Messages of one sequence that never arrived.
///
/// ```
/// use laputa_core::cluster::{Arrival, Body, Envelope, Gap, Sequences};
///
/// let at = |seq| Envelope { node: "a".into(), epoch: 1, seq, path: "/chat".into(), body: Body::Query { id: 0 } };
/// let mut sequences = Sequences::new();
/// sequences.arrive(&at(10));
/// let Arrival::AfterGap(gap) = sequences.arrive(&at(15)) else { panic!("11 to 14 are missing") };
/// assert_eq!(gap, Gap { missed: 4 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// How many numbers were skipped.
    pub missed: u64,
}

impl Sequences {
    /// Tracks nothing yet: the first envelope of each (node, path) is in order.
    ///
    /// ```
    /// use laputa_core::cluster::Sequences;
    ///
    /// let sequences = Sequences::new();
    /// assert!(sequences.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks an envelope's node, epoch, sequence number and path against what arrived before,
    /// and records it. Unsequenced envelopes (`seq` 0: queries and answers) are
    /// [`InOrder`](Arrival::InOrder) and change nothing.
    ///
    /// For a known (node, path) of the same epoch, `next` being the number expected: `seq ==
    /// next` is in order, `seq > next` comes after a gap of `seq - next`, `seq < next` is a
    /// duplicate. A new epoch means the node restarted: its sequence starts again, in order at 1
    /// and after a gap of `seq - 1` otherwise. The first envelope of an unknown (node, path) is
    /// in order whatever its number: what was published before this node listened is no gap.
    ///
    /// ```
    /// use laputa_core::cluster::{Arrival, Body, Envelope, Gap, Sequences};
    ///
    /// let at = |epoch, seq| Envelope { node: "a".into(), epoch, seq, path: "/chat".into(), body: Body::Query { id: 0 } };
    /// let mut sequences = Sequences::new();
    /// assert_eq!(sequences.arrive(&at(1, 41)), Arrival::InOrder, "the first heard from a");
    /// assert_eq!(sequences.arrive(&at(1, 42)), Arrival::InOrder);
    /// assert_eq!(sequences.arrive(&at(1, 0)), Arrival::InOrder, "unsequenced");
    /// assert_eq!(sequences.arrive(&at(1, 40)), Arrival::Duplicate);
    /// // "a" restarted and published 5 messages while this node was cut off.
    /// assert_eq!(sequences.arrive(&at(2, 6)), Arrival::AfterGap(Gap { missed: 5 }));
    /// ```
    pub fn arrive(&mut self, envelope: &Envelope) -> Arrival {
        let seq = envelope.seq;
        if seq == 0 {
            return Arrival::InOrder;
        }
        if let Some(position) = self.nodes.get_mut(&envelope.node).and_then(|paths| paths.get_mut(&envelope.path)) {
            if position.epoch != envelope.epoch {
                *position = Position { epoch: envelope.epoch, last: seq };
                return gap_before(seq - 1);
            }
            if seq <= position.last {
                return Arrival::Duplicate;
            }
            let missed = seq - position.last - 1;
            position.last = seq;
            return gap_before(missed);
        }
        if self.len >= MAX_TRACKED {
            self.nodes.clear();
            self.len = 0;
        }
        let paths = self.nodes.entry(envelope.node.clone()).or_default();
        paths.insert(envelope.path.clone(), Position { epoch: envelope.epoch, last: seq });
        self.len += 1;
        Arrival::InOrder
    }

    /// Forgets a node (it left the registry): its next envelope of each path starts afresh.
    ///
    /// ```
    /// use laputa_core::cluster::{Arrival, Body, Envelope, Sequences};
    ///
    /// let at = |seq| Envelope { node: "a".into(), epoch: 1, seq, path: "/chat".into(), body: Body::Query { id: 0 } };
    /// let mut sequences = Sequences::new();
    /// sequences.arrive(&at(1));
    /// sequences.forget_node("a");
    /// assert!(sequences.is_empty());
    /// assert_eq!(sequences.arrive(&at(9)), Arrival::InOrder, "no gap after forgetting");
    /// ```
    pub fn forget_node(&mut self, node: &str) {
        if let Some(paths) = self.nodes.remove(node) {
            self.len -= paths.len();
        }
    }

    /// How many (node, path) sequences are tracked.
    ///
    /// ```
    /// use laputa_core::cluster::{Body, Envelope, Sequences};
    ///
    /// let from = |node: &str, path: &str| Envelope {
    ///     node: node.into(),
    ///     epoch: 1,
    ///     seq: 1,
    ///     path: path.into(),
    ///     body: Body::Query { id: 0 },
    /// };
    /// let mut sequences = Sequences::new();
    /// sequences.arrive(&from("a", "/chat"));
    /// sequences.arrive(&from("a", "/news"));
    /// sequences.arrive(&from("b", "/chat"));
    /// assert_eq!(sequences.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no sequence is tracked.
    ///
    /// ```
    /// use laputa_core::cluster::{Body, Envelope, Sequences};
    ///
    /// let mut sequences = Sequences::new();
    /// assert!(sequences.is_empty());
    /// sequences.arrive(&Envelope { node: "a".into(), epoch: 1, seq: 1, path: "/".into(), body: Body::Query { id: 0 } });
    /// assert!(!sequences.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The sending side: the next sequence number per path, from 1, under one epoch.
///
/// A node makes one when it starts, with a random epoch, and stamps each sequenced envelope it
/// publishes (deliveries and closes) with [`epoch`](Self::epoch) and [`next`](Self::next).
///
/// ```
/// use laputa_core::cluster::Sequencer;
///
/// let mut sequencer = Sequencer::new(0xfeed);
/// assert_eq!((sequencer.next("/chat"), sequencer.next("/chat")), (1, 2));
/// assert_eq!(sequencer.next("/news"), 1, "each path counts on its own");
/// ```
#[derive(Debug)]
pub struct Sequencer {
    epoch: u64,
    /// The last number given out per path.
    last: HashMap<String, u64>,
}

impl Sequencer {
    /// A sequencer for a node that started with this epoch (random, so that a node restarted
    /// under the same id is told apart).
    ///
    /// ```
    /// use laputa_core::cluster::Sequencer;
    /// use laputa_core::Rng;
    ///
    /// let mut random = [0; 8];
    /// Rng::os().fill(&mut random);
    /// let epoch = u64::from_be_bytes(random);
    /// let sequencer = Sequencer::new(epoch);
    /// assert_eq!(sequencer.epoch(), epoch);
    /// ```
    pub fn new(epoch: u64) -> Self {
        Self { epoch, last: HashMap::new() }
    }

    /// The epoch it stamps.
    ///
    /// ```
    /// use laputa_core::cluster::Sequencer;
    ///
    /// assert_eq!(Sequencer::new(42).epoch(), 42);
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The number of the next envelope published for `path`: 1, then 2, and so on.
    ///
    /// ```
    /// use laputa_core::cluster::Sequencer;
    ///
    /// let mut sequencer = Sequencer::new(1);
    /// assert_eq!(sequencer.next("/chat"), 1);
    /// assert_eq!(sequencer.next("/chat"), 2);
    /// ```
    pub fn next(&mut self, path: &str) -> u64 {
        match self.last.get_mut(path) {
            Some(last) => {
                *last += 1;
                *last
            }
            None => {
                self.last.insert(path.to_owned(), 1);
                1
            }
        }
    }
}
