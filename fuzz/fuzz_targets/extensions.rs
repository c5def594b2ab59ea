//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 section 9.1) and permessage-deflate
//! negotiation (RFC 7692) fed an arbitrary header value.
//!
//! Checked: no panic; a parsed list written back and parsed again gives the same list; a server
//! that accepts one of the offers answers with one permessage-deflate extension that parses
//! again to itself.
#![no_main]

use laputa_core::deflate::{server_negotiate, DeflateConfig};
use laputa_core::extensions::{parse_extensions, write_extension, write_extensions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    let Ok(list) = parse_extensions(value) else { return };
    let written = write_extensions(&list);
    assert_eq!(parse_extensions(&written).as_ref(), Ok(&list), "round trip of {value:?} via {written:?}");
    let Some((_params, answer)) = server_negotiate(&list, &DeflateConfig::default()) else { return };
    let answer_text = write_extension(&answer);
    let reparsed = parse_extensions(&answer_text).expect("the answer parses");
    assert_eq!(reparsed, std::slice::from_ref(&answer), "the answer {answer_text:?} is one extension");
    assert_eq!(answer.name, "permessage-deflate");
});
