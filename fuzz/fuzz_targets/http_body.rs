//! The HTTP/1.1 body decoder (`laputa_core::http1::BodyDecoder`) fed arbitrary bytes, and the
//! chunked encoder's output fed back to it.
//!
//! Input: `mode`, two split bytes, then the bytes. `mode` bits 0-1 pick the framing (chunked,
//! read to close, a `Content-Length` from the first two bytes of the input, none), bits 2-4 the
//! maximum body size, bit 5 turns the input into a round trip: it is cut at every `|` into the
//! chunks of a body written with `write_chunk` and `write_last_chunk` (with a trailer), then
//! decoded.
//!
//! Checked: no panic; the same body, end and error whether the input arrives whole, in three
//! pieces, or (when short) one byte at a time; the decoded length never exceeds the maximum; the
//! input used is at most the input; a round trip gives back the chunks, the trailer and the
//! whole input, unless the body is over the maximum.
#![no_main]

use laputa_core::http::{HeaderMap, HeaderValue};
use laputa_core::http1::{write_chunk, write_last_chunk, BodyDecoder, Framing, Http1Error, Progress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, split_a, split_b, input @ ..] = data else { return };
    let max = [0, 1, 7, 64, 1024, 64 << 10, u64::MAX, 16][usize::from((mode >> 2) & 7)];
    let (framing, input) = match mode & 3 {
        0 => (Framing::Chunked, input.to_vec()),
        1 => (Framing::ReadToClose, input.to_vec()),
        2 => match input {
            [hi, lo, rest @ ..] => (Framing::Length(u64::from(u16::from_be_bytes([*hi, *lo]))), rest.to_vec()),
            _ => return,
        },
        _ => (Framing::NoBody, input.to_vec()),
    };
    if mode & 0x20 != 0 {
        round_trip(&input, max);
        return;
    }
    let a = (usize::from(*split_a) * input.len()) / 256;
    let b = a + (usize::from(*split_b) * (input.len() - a)) / 256;
    let whole = decode(framing, max, &[&input]);
    let split = decode(framing, max, &[&input[..a], &input[a..b], &input[b..]]);
    same(&whole, &split, &format!("splitting at {a} and {b}"));
    if input.len() <= 512 {
        let bytes: Vec<&[u8]> = if input.is_empty() { vec![&input[..]] } else { input.chunks(1).collect() };
        same(&whole, &decode(framing, max, &bytes), "byte by byte");
    }
    if let Ok(End::Done(used)) = whole.end {
        assert!(used <= input.len());
    }
});

#[derive(Debug, PartialEq)]
enum End {
    /// The body ended after this much input.
    Done(usize),
    /// The input ran out; what `push_eof` said then.
    Eof(Result<(), Http1Error>),
}

#[derive(Debug)]
struct Outcome {
    body: Vec<u8>,
    end: Result<End, Http1Error>,
    trailers: Option<HeaderMap>,
}

/// Two outcomes agree: on the error, or on everything. (Before an error a body read until the
/// close may have taken one read more or less: a read over the maximum is refused whole.)
fn same(a: &Outcome, b: &Outcome, how: &str) {
    match (&a.end, &b.end) {
        (Err(x), Err(y)) => assert_eq!(x, y, "{how} changed the error"),
        _ => {
            assert_eq!(a.end, b.end, "{how} changed the end");
            assert_eq!(a.body, b.body, "{how} changed the body");
            assert_eq!(a.trailers, b.trailers, "{how} changed the trailers");
        }
    }
}

fn decode(framing: Framing, max: u64, pieces: &[&[u8]]) -> Outcome {
    let mut decoder = BodyDecoder::new(framing, max);
    let mut body = Vec::new();
    let mut offset = 0;
    let mut end = None;
    for piece in pieces {
        let result = decoder.push(piece, &mut body);
        assert!(body.len() as u64 <= max, "decoded more than the maximum");
        match result {
            Ok(Progress::NeedMore) => offset += piece.len(),
            Ok(Progress::Done(used)) => {
                assert!(used <= piece.len());
                assert!(decoder.is_done());
                assert_eq!(decoder.push(b"more", &mut body), Ok(Progress::Done(0)), "done stays done");
                end = Some(Ok(End::Done(offset + used)));
                break;
            }
            Err(err) => {
                assert_eq!(decoder.push(b"more", &mut body), Err(err), "errors are sticky");
                end = Some(Err(err));
                break;
            }
        }
    }
    let end = end.unwrap_or_else(|| Ok(End::Eof(decoder.push_eof())));
    Outcome { body, end, trailers: decoder.trailers().cloned() }
}

fn round_trip(input: &[u8], max: u64) {
    let chunks: Vec<&[u8]> = input.split(|&b| b == b'|').collect();
    let mut wire = Vec::new();
    for chunk in &chunks {
        write_chunk(&mut wire, chunk);
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("x-chunks", HeaderValue::from(chunks.len()));
    write_last_chunk(&mut wire, &trailers);
    let outcome = decode(Framing::Chunked, max, &[&wire]);
    let body = chunks.concat();
    if body.len() as u64 > max {
        assert_eq!(outcome.end.unwrap_err(), Http1Error::BodyTooLarge);
        return;
    }
    assert_eq!(outcome.end, Ok(End::Done(wire.len())));
    assert_eq!(outcome.body, body);
    assert_eq!(outcome.trailers, Some(trailers));
}
