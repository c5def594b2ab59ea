//! The query reader of the core (`laputa_core::server::query`) on arbitrary text, and on text
//! it encoded itself.
//!
//! Input: any bytes; a query is the input read as UTF-8 (lossily, as a request's URI is text).
//!
//! Checked: no panic; a component with neither `+` nor `%` decodes to itself without
//! allocating; decoding never lengthens a component; `param` finds the first pair `pairs`
//! gives for a name; and any text, percent-encoded byte by byte (a space as `+`), decodes
//! back to itself, alone and as a pair's name and value.
#![no_main]

use laputa_core::server::query::{decode, pairs, param};
use libfuzzer_sys::fuzz_target;
use std::borrow::Cow;
use std::fmt::Write;

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    for component in query.split(['&', '=']) {
        let decoded = decode(component);
        if !component.contains(['+', '%']) {
            assert!(matches!(decoded, Cow::Borrowed(text) if text == component));
        }
        // Every escape of three bytes gives one byte, which U+FFFD (three bytes) can replace.
        assert!(decoded.len() <= component.len(), "{component:?} -> {decoded:?}");
    }
    let all: Vec<_> = pairs(&query).collect();
    for (name, value) in &all {
        let first = all.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        assert_eq!(param(&query, name).as_ref(), first, "{name:?} = {value:?}");
    }

    let text = query.as_ref();
    let encoded = encode(text);
    assert_eq!(decode(&encoded), text);
    let pair = format!("{encoded}={encoded}");
    assert_eq!(pairs(&pair).collect::<Vec<_>>(), [(Cow::Borrowed(text), Cow::Borrowed(text))]);
});

/// Percent-encodes every byte but unreserved ones; a space becomes `+`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}
