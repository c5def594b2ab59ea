//! The envelope's wire format (round trips, exact bytes, every refusal, hostile lengths, the
//! zero-copy payload) and gap detection, through the public API.

use super::*;
use crate::{CloseCode, Message, MAX_REASON_LEN};
use bytes::{BufMut, Bytes};

fn envelope(body: Body) -> Envelope {
    Envelope { node: "node-a".into(), epoch: 0x0102_0304_0506_0708, seq: 42, path: "/chat".into(), body }
}

fn deliver(target: Target, message: Message) -> Envelope {
    envelope(Body::Deliver { target, message })
}

fn round_trip(envelope: &Envelope) -> Envelope {
    let bytes = envelope.encode();
    assert_eq!(bytes.len(), bytes.capacity(), "encode allocates once, sized up front");
    Envelope::decode(&Bytes::from(bytes)).expect("what encode writes decodes")
}

/// The bytes of `envelope` with `edit` applied to them.
fn edited(envelope: &Envelope, edit: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut bytes = envelope.encode();
    edit(&mut bytes);
    Bytes::from(bytes)
}

/// Where the body starts in an envelope from `envelope()` (node "node-a", path "/chat"): magic,
/// version, node, epoch, seq, path.
const BODY_AT: usize = 4 + 1 + (1 + 6) + 8 + 8 + (2 + 5);

// ---- round trips ----

#[test]
fn every_target_and_message_kind_round_trips() {
    let targets = [
        Target::All,
        Target::Except("a-1".into()),
        Target::Topic("news".into()),
        Target::Session("b-2".into()),
        Target::Topic(String::new()),
    ];
    let messages = [
        Message::from("hello, ✓"),
        Message::from(vec![0, 0xff, 0x80, 1]),
        Message::from(""),
        Message::from(Vec::new()),
        Message::from(vec![7; 70_000]),
    ];
    for target in &targets {
        for message in &messages {
            let original = deliver(target.clone(), message.clone());
            let decoded = round_trip(&original);
            assert_eq!(decoded, original);
            let Body::Deliver { message: got, .. } = decoded.body else { unreachable!() };
            assert_eq!(got.kind(), message.kind(), "text stays text, binary stays binary");
        }
    }
}

#[test]
fn close_query_and_answer_round_trip() {
    let bodies = [
        Body::Close { session: "b-9".into(), code: CloseCode::NORMAL, reason: String::new() },
        Body::Close { session: "b-9".into(), code: CloseCode(4999), reason: "é".repeat(61) },
        Body::Close { session: "b-9".into(), code: CloseCode(3000), reason: "r".repeat(MAX_REASON_LEN) },
        Body::Query { id: 0 },
        Body::Query { id: u64::MAX },
        Body::Answer { id: 5, sessions: Vec::new() },
        Body::Answer { id: 6, sessions: vec!["a-1".into(), String::new(), "a-3".into()] },
    ];
    for body in bodies {
        let mut original = envelope(body);
        original.seq = 0;
        assert_eq!(round_trip(&original), original);
    }
}

#[test]
fn ids_of_max_len_and_a_long_path_round_trip() {
    // 85 three-byte characters: 255 bytes exactly.
    let id = "✓".repeat(MAX_ID_LEN / 3);
    assert_eq!(id.len(), MAX_ID_LEN);
    let bodies = [
        Body::Deliver { target: Target::Except(id.clone()), message: Message::from("x") },
        Body::Deliver { target: Target::Topic(id.clone()), message: Message::from("x") },
        Body::Deliver { target: Target::Session(id.clone()), message: Message::from("x") },
        Body::Close { session: id.clone(), code: CloseCode::GOING_AWAY, reason: "bye".into() },
        Body::Answer { id: 1, sessions: vec![id.clone(); 300] },
    ];
    for body in bodies {
        let original = Envelope {
            node: id.clone(),
            epoch: u64::MAX,
            seq: u64::MAX,
            path: "p".repeat(usize::from(u16::MAX)),
            body,
        };
        assert_eq!(round_trip(&original), original);
    }
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "256 bytes where at most 255 fit an envelope")]
fn an_id_too_long_is_a_caller_bug() {
    deliver(Target::Session("s".repeat(MAX_ID_LEN + 1)), Message::from("x")).encode();
}

#[test]
fn the_wire_format_byte_by_byte() {
    let original = Envelope {
        node: "n1".into(),
        epoch: 0x0102_0304_0506_0708,
        seq: 3,
        path: "/c".into(),
        body: Body::Deliver { target: Target::Session("s".into()), message: Message::from("hi") },
    };
    let mut expected = Vec::new();
    expected.put_slice(b"LPTC\x01");
    expected.put_slice(b"\x02n1");
    expected.put_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    expected.put_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
    expected.put_slice(b"\x00\x02/c");
    expected.put_slice(b"\x01"); // Deliver
    expected.put_slice(b"\x03\x01s"); // to session "s"
    expected.put_slice(b"\x01\x00\x00\x00\x02hi"); // text, 2 bytes
    assert_eq!(original.encode(), expected);

    let close = Envelope {
        body: Body::Close { session: "s".into(), code: CloseCode::GOING_AWAY, reason: "up".into() },
        ..original.clone()
    };
    assert!(close.encode().ends_with(b"\x02\x01s\x03\xe9\x02up"));
    let query = Envelope { body: Body::Query { id: 0x0a0b }, ..original.clone() };
    assert!(query.encode().ends_with(b"\x03\x00\x00\x00\x00\x00\x00\x0a\x0b"));
    let answer = Envelope { body: Body::Answer { id: 1, sessions: vec!["x".into(), "yz".into()] }, ..original };
    assert!(answer.encode().ends_with(b"\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x01x\x02yz"));
}

// ---- zero copy ----

#[test]
fn a_deliver_payload_is_a_slice_of_the_input() {
    for message in [Message::from("x".repeat(1000)), Message::from(vec![9; 1000])] {
        let bytes = Bytes::from(deliver(Target::All, message).encode());
        let Body::Deliver { message, .. } = Envelope::decode(&bytes).unwrap().body else { unreachable!() };
        let payload = message.payload_bytes();
        let input = bytes.as_ptr_range();
        assert!(input.contains(&payload.as_ptr()), "the payload points into the input");
        assert_eq!(payload.as_ptr_range().end, input.end, "it is the input's last 1000 bytes");
    }
}

// ---- refusals ----

#[test]
fn bad_magic() {
    for input in [&b""[..], b"X", b"LPX", b"HTTP/1.1 200 OK", b"lptc\x01"] {
        let expected = if input.is_empty() { DecodeError::Truncated } else { DecodeError::BadMagic };
        assert_eq!(Envelope::decode(&Bytes::copy_from_slice(input)), Err(expected), "{input:?}");
    }
}

#[test]
fn unknown_version() {
    let original = envelope(Body::Query { id: 1 });
    for version in [0, 2, 0xff] {
        let bytes = edited(&original, |b| b[4] = version);
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::UnknownVersion(version)));
    }
}

#[test]
fn every_prefix_is_truncated() {
    let originals = [
        deliver(Target::Except("a-1".into()), Message::from("hello")),
        envelope(Body::Close { session: "s".into(), code: CloseCode::NORMAL, reason: "bye".into() }),
        envelope(Body::Query { id: 3 }),
        envelope(Body::Answer { id: 4, sessions: vec!["s1".into(), "s2".into()] }),
    ];
    for original in originals {
        let bytes = Bytes::from(original.encode());
        for end in 0..bytes.len() {
            assert_eq!(Envelope::decode(&bytes.slice(..end)), Err(DecodeError::Truncated), "{original:?} cut at {end}");
        }
    }
}

#[test]
fn unknown_kinds() {
    let original = deliver(Target::All, Message::from("hi"));
    for kind in [0, 5, 0xff] {
        let bytes = edited(&original, |b| b[BODY_AT] = kind);
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::UnknownKind(kind)), "body kind {kind}");
    }
    for kind in [4, 0xff] {
        let bytes = edited(&original, |b| b[BODY_AT + 1] = kind);
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::UnknownKind(kind)), "target kind {kind}");
    }
    for kind in [0, 3] {
        let bytes = edited(&original, |b| b[BODY_AT + 2] = kind);
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::UnknownKind(kind)), "message kind {kind}");
    }
}

#[test]
fn a_close_reason_over_123_bytes_is_too_long() {
    let original = envelope(Body::Close { session: "s".into(), code: CloseCode::NORMAL, reason: String::new() });
    // Body: kind, session (2 bytes), code (2), then the reason's length byte.
    let bytes = edited(&original, |b| {
        b[BODY_AT + 5] = 124;
        b.extend_from_slice(&[b'r'; 124]);
    });
    assert_eq!(Envelope::decode(&bytes), Err(DecodeError::TooLong));
}

#[test]
fn invalid_utf8_anywhere() {
    let text = deliver(Target::Topic("ab".into()), Message::from("ab"));
    let close = envelope(Body::Close { session: "s".into(), code: CloseCode::NORMAL, reason: "ab".into() });
    let answer = envelope(Body::Answer { id: 1, sessions: vec!["ok".into(), "ab".into()] });
    let cases: [(&str, &Envelope, usize); 6] = [
        ("node", &text, 6),
        ("path", &text, 4 + 1 + 7 + 16 + 2 + 1),
        ("topic", &text, BODY_AT + 3),
        ("text payload", &text, BODY_AT + 2 + 2 + 1 + 4 + 1),
        ("close reason", &close, BODY_AT + 6),
        ("answer's session id", &answer, BODY_AT + 1 + 8 + 4 + 3 + 1),
    ];
    for (what, original, at) in cases {
        let bytes = edited(original, |b| b[at] = 0xff);
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::InvalidUtf8), "{what}");
    }
    // The same byte in a binary payload is fine.
    let binary = deliver(Target::All, Message::from(b"ab".to_vec()));
    let bytes = edited(&binary, |b| *b.last_mut().unwrap() = 0xff);
    assert!(Envelope::decode(&bytes).is_ok());
}

#[test]
fn close_codes_a_peer_may_not_send() {
    let original = envelope(Body::Close { session: "s".into(), code: CloseCode::NORMAL, reason: String::new() });
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000, u16::MAX] {
        let bytes = edited(&original, |b| b[BODY_AT + 3..BODY_AT + 5].copy_from_slice(&code.to_be_bytes()));
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::InvalidCloseCode(code)), "code {code}");
    }
}

#[test]
fn trailing_bytes() {
    for original in [deliver(Target::All, Message::from("hi")), envelope(Body::Query { id: 1 })] {
        let bytes = edited(&original, |b| b.push(0));
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::TrailingBytes));
    }
}

#[test]
fn every_error_says_what_it_is() {
    let errors = [
        DecodeError::BadMagic,
        DecodeError::UnknownVersion(2),
        DecodeError::Truncated,
        DecodeError::UnknownKind(9),
        DecodeError::TooLong,
        DecodeError::InvalidUtf8,
        DecodeError::InvalidCloseCode(1005),
        DecodeError::TrailingBytes,
    ];
    let texts: std::collections::HashSet<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(texts.len(), errors.len(), "distinct messages: {texts:?}");
    assert!(texts.contains("close code 1005 may not be sent"));
}

// ---- hostile lengths ----

#[test]
fn a_payload_length_past_the_end_is_truncated() {
    let original = deliver(Target::All, Message::from(vec![0; 10]));
    // Body: kind, target, message kind, then the u32 length.
    let bytes = edited(&original, |b| b[BODY_AT + 3..BODY_AT + 7].copy_from_slice(&u32::MAX.to_be_bytes()));
    assert_eq!(bytes.len() - (BODY_AT + 7), 10, "10 bytes left");
    assert_eq!(Envelope::decode(&bytes), Err(DecodeError::Truncated));
}

#[test]
fn an_answer_count_past_the_end_is_truncated() {
    let original = envelope(Body::Answer { id: 1, sessions: vec!["s".into()] });
    let count_at = BODY_AT + 1 + 8;
    for count in [u32::MAX, 3] {
        let bytes = edited(&original, |b| b[count_at..count_at + 4].copy_from_slice(&count.to_be_bytes()));
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::Truncated), "count {count}");
    }
    // Two ids of length 0 fit in the two bytes left: the count bound is what is left, not less.
    let bytes = edited(&original, |b| {
        b[count_at..count_at + 4].copy_from_slice(&2u32.to_be_bytes());
        b[count_at + 4] = 0;
        b[count_at + 5] = 0;
    });
    let Body::Answer { sessions, .. } = Envelope::decode(&bytes).unwrap().body else { unreachable!() };
    assert_eq!(sessions, ["", ""]);
}

#[test]
fn a_path_length_past_the_end_is_truncated() {
    let original = envelope(Body::Query { id: 1 });
    let bytes = edited(&original, |b| b[4 + 1 + 7 + 16..4 + 1 + 7 + 16 + 2].copy_from_slice(&u16::MAX.to_be_bytes()));
    assert_eq!(Envelope::decode(&bytes), Err(DecodeError::Truncated));
}

// ---- the fuzz target's seeds ----

/// The seeds of `fuzz/seeds/cluster_envelope/`: a few envelopes of each body kind.
fn seeds() -> Vec<(&'static str, Envelope)> {
    let unsequenced = |body| Envelope { seq: 0, ..envelope(body) };
    vec![
        ("deliver_all_text", deliver(Target::All, Message::from("hello, world"))),
        ("deliver_except_binary", deliver(Target::Except("a-1".into()), Message::from(vec![0, 1, 2, 0xff]))),
        ("deliver_topic_empty", deliver(Target::Topic("news".into()), Message::from(""))),
        ("deliver_session_utf8", deliver(Target::Session("b-7".into()), Message::from("Laputa ✓ 天空の城"))),
        (
            "close_reason",
            envelope(Body::Close { session: "b-7".into(), code: CloseCode::POLICY_VIOLATION, reason: "spam".into() }),
        ),
        ("close_private_code", envelope(Body::Close { session: "s".into(), code: CloseCode(4000), reason: "".into() })),
        ("query", unsequenced(Body::Query { id: 17 })),
        ("answer_empty", unsequenced(Body::Answer { id: 17, sessions: Vec::new() })),
        (
            "answer_three",
            unsequenced(Body::Answer { id: 17, sessions: vec!["c-1".into(), "c-2".into(), "c-3".into()] }),
        ),
    ]
}

/// The committed seeds are the encoder's current output, so that the fuzzer starts from valid
/// envelopes. `LAPUTA_WRITE_SEEDS=1 cargo test -p laputa-core --lib cluster::tests::fuzz_seeds`
/// writes them again after a change of the format.
#[test]
fn fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/cluster_envelope");
    let write = std::env::var_os("LAPUTA_WRITE_SEEDS").is_some();
    for (name, envelope) in seeds() {
        let path = dir.join(name);
        let bytes = envelope.encode();
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(committed, bytes, "{} is stale: see this test's doc comment", path.display());
        assert_eq!(Envelope::decode(&Bytes::from(committed)), Ok(envelope));
    }
}

// ---- sequences ----

fn at(node: &str, path: &str, epoch: u64, seq: u64) -> Envelope {
    Envelope { node: node.into(), epoch, seq, path: path.into(), body: Body::Query { id: 0 } }
}

#[test]
fn in_order_gap_and_duplicate() {
    let mut sequences = Sequences::new();
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 1)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 2)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 5)), Arrival::AfterGap(Gap { missed: 2 }));
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 6)), Arrival::InOrder, "in order after the gap");
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 6)), Arrival::Duplicate, "repeated");
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 3)), Arrival::Duplicate, "late, from inside the gap");
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 7)), Arrival::InOrder, "a duplicate moves nothing");
    assert_eq!(sequences.len(), 1);
}

#[test]
fn the_first_heard_is_in_order_whatever_its_number() {
    let mut sequences = Sequences::new();
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 1000)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 1001)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 999)), Arrival::Duplicate);
}

#[test]
fn a_new_epoch_restarts_the_sequence() {
    let mut sequences = Sequences::new();
    sequences.arrive(&at("a", "/chat", 1, 1));
    sequences.arrive(&at("a", "/chat", 1, 2));
    sequences.arrive(&at("a", "/chat", 1, 3));
    // Restarted, and heard from its first message: nothing missed.
    assert_eq!(sequences.arrive(&at("a", "/chat", 2, 1)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 2, 2)), Arrival::InOrder);
    // Restarted again, first heard at 5: 1 to 4 were missed.
    assert_eq!(sequences.arrive(&at("a", "/chat", 3, 5)), Arrival::AfterGap(Gap { missed: 4 }));
    assert_eq!(sequences.arrive(&at("a", "/chat", 3, 6)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 3, 2)), Arrival::Duplicate);
    assert_eq!(sequences.len(), 1);
}

#[test]
fn forget_node_starts_it_afresh() {
    let mut sequences = Sequences::new();
    sequences.arrive(&at("a", "/chat", 1, 1));
    sequences.arrive(&at("a", "/news", 1, 1));
    sequences.arrive(&at("b", "/chat", 1, 1));
    assert_eq!(sequences.len(), 3);
    sequences.forget_node("a");
    sequences.forget_node("nobody");
    assert_eq!(sequences.len(), 1);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 9)), Arrival::InOrder, "no gap: a starts afresh");
    assert_eq!(sequences.arrive(&at("b", "/chat", 1, 3)), Arrival::AfterGap(Gap { missed: 1 }), "b is still tracked");
}

#[test]
fn paths_and_nodes_are_independent() {
    let mut sequences = Sequences::new();
    sequences.arrive(&at("a", "/chat", 1, 1));
    sequences.arrive(&at("a", "/news", 1, 1));
    sequences.arrive(&at("b", "/chat", 7, 1));
    assert_eq!(sequences.arrive(&at("a", "/news", 1, 2)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 3)), Arrival::AfterGap(Gap { missed: 1 }));
    assert_eq!(sequences.arrive(&at("b", "/chat", 7, 2)), Arrival::InOrder);
    assert_eq!(sequences.len(), 3);
}

#[test]
fn unsequenced_envelopes_are_in_order_and_change_nothing() {
    let mut sequences = Sequences::new();
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 0)), Arrival::InOrder);
    assert!(sequences.is_empty(), "seq 0 is not tracked");
    sequences.arrive(&at("a", "/chat", 1, 4));
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 0)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 2, 0)), Arrival::InOrder, "not even a new epoch");
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, 5)), Arrival::InOrder);
}

#[test]
fn the_last_number_is_no_overflow() {
    let mut sequences = Sequences::new();
    sequences.arrive(&at("a", "/chat", 1, u64::MAX - 1));
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, u64::MAX)), Arrival::InOrder);
    assert_eq!(sequences.arrive(&at("a", "/chat", 1, u64::MAX)), Arrival::Duplicate);
    assert_eq!(sequences.arrive(&at("a", "/chat", 2, u64::MAX)), Arrival::AfterGap(Gap { missed: u64::MAX - 1 }));
}

#[test]
fn tracking_restarts_past_65536_sequences() {
    let mut sequences = Sequences::new();
    for i in 0..65_536 {
        sequences.arrive(&at(&format!("n{i}"), "/chat", 1, 1));
    }
    assert_eq!(sequences.len(), 65_536);
    // A known sequence still fits.
    assert_eq!(sequences.arrive(&at("n0", "/chat", 1, 3)), Arrival::AfterGap(Gap { missed: 1 }));
    assert_eq!(sequences.len(), 65_536);
    // One more clears everything first.
    assert_eq!(sequences.arrive(&at("newcomer", "/chat", 1, 1)), Arrival::InOrder);
    assert_eq!(sequences.len(), 1);
    assert_eq!(sequences.arrive(&at("n0", "/chat", 1, 9)), Arrival::InOrder, "n0 was forgotten");
    assert_eq!(sequences.len(), 2);
}

#[test]
fn a_sequencer_counts_per_path_from_one() {
    let mut sequencer = Sequencer::new(77);
    assert_eq!(sequencer.epoch(), 77);
    assert_eq!([sequencer.next("/chat"), sequencer.next("/chat"), sequencer.next("/chat")], [1, 2, 3]);
    assert_eq!(sequencer.next("/news"), 1);
    assert_eq!(sequencer.next("/chat"), 4);
    // What it stamps, a receiver takes in order.
    let mut sequences = Sequences::new();
    let mut sequencer = Sequencer::new(5);
    for _ in 0..3 {
        let seq = sequencer.next("/chat");
        assert_eq!(sequences.arrive(&at("a", "/chat", sequencer.epoch(), seq)), Arrival::InOrder);
    }
}
