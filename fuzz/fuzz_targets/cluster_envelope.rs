//! The envelope between cluster nodes (`laputa_core::cluster`) decoded from arbitrary bytes, as
//! a node reads whatever arrives on its Redis channel.
//!
//! Checked: no panic; an envelope that decodes encodes back to the same bytes (the format has
//! one encoding per envelope) and decodes again to itself; a delivery's payload is a slice of the
//! input; the publisher read from the header alone is the decoded one; gap detection takes any sequence of such envelopes without a panic.
#![no_main]

use laputa_core::bytes::Bytes;
use laputa_core::cluster::{Body, Envelope, Sequences};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    let publisher = Envelope::publisher(data);
    let Ok(envelope) = Envelope::decode(&input) else { return };
    assert_eq!(publisher, Some(envelope.node.as_bytes()), "the header read alone agrees");
    if let Body::Deliver { message, .. } = &envelope.body {
        let payload = message.payload_bytes().as_ptr_range();
        let all = input.as_ptr_range();
        assert!(message.payload().is_empty() || (all.start <= payload.start && payload.end <= all.end));
    }
    let encoded = envelope.encode();
    assert_eq!(encoded, data, "one encoding per envelope");
    let again = Envelope::decode(&Bytes::from(encoded)).expect("what encode writes decodes");
    assert_eq!(again, envelope);
    let mut sequences = Sequences::new();
    sequences.arrive(&envelope);
    sequences.arrive(&again);
    sequences.forget_node(&envelope.node);
    assert!(sequences.is_empty());
});
