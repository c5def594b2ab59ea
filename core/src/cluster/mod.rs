//! What crosses between the nodes of a server cluster, sans-IO: the [`Envelope`] a node publishes
//! (a message for some sessions of a service, a close of one session, a query of the sessions and
//! its answer) and the sequence numbers that reveal what was lost on the way ([`Sequences`]).
//!
//! The transport is the adapters' (the `laputa` crate's Redis backplane): it publishes the bytes
//! of [`Envelope::encode`] and hands what it receives to [`Envelope::decode`], then to
//! [`Sequences::arrive`], before delivering to its local sessions. Keeping the format and the gap
//! detection here, with no socket and no clock, lets every runtime and the fuzzer share one
//! decoder, and lets a hostile or corrupt publish fail with a [`DecodeError`] instead of a panic.
//!
//! ```
//! use laputa_core::bytes::Bytes;
//! use laputa_core::cluster::{Arrival, Body, Envelope, Gap, Sequencer, Sequences, Target};
//! use laputa_core::Message;
//!
//! // Node "a" publishes two chat messages; the second one is lost on the way.
//! let mut sequencer = Sequencer::new(0x5eed);
//! let publish = |sequencer: &mut Sequencer, text: &'static str| Envelope {
//!     node: "a".into(),
//!     epoch: sequencer.epoch(),
//!     seq: sequencer.next("/chat"),
//!     path: "/chat".into(),
//!     body: Body::Deliver { target: Target::All, message: Message::from(text) },
//! };
//! let first = publish(&mut sequencer, "hello").encode();
//! let _lost = publish(&mut sequencer, "anyone?").encode();
//! let third = publish(&mut sequencer, "still here").encode();
//!
//! // Node "b" receives the first and the third.
//! let mut sequences = Sequences::new();
//! let received = Envelope::decode(&Bytes::from(first))?;
//! assert_eq!(sequences.arrive(&received), Arrival::InOrder);
//! let received = Envelope::decode(&Bytes::from(third))?;
//! assert_eq!(sequences.arrive(&received), Arrival::AfterGap(Gap { missed: 1 }));
//! let Body::Deliver { message, .. } = received.body else { panic!("a delivery") };
//! assert_eq!(message.as_text(), Some("still here"));
//! # Ok::<(), laputa_core::cluster::DecodeError>(())
//! ```

mod envelope;
mod sequence;

pub use envelope::{Body, DecodeError, Envelope, Target, MAX_ID_LEN};
pub use sequence::{Arrival, Gap, Sequencer, Sequences};

#[cfg(test)]
mod tests;
