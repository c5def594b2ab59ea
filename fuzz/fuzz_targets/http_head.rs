//! The HTTP/1.1 head readers (`laputa_core::http1`) fed arbitrary bytes as a stream of
//! pipelined messages: each head, then its body as its framing says, then the next head, as a
//! server (requests) or a client (responses) reads them.
//!
//! Input: `mode`, two split bytes, then the stream. `mode` bit 0 picks responses, bits 1-2 the
//! head size bound, bit 3 the header count bound, bit 4 a small request line bound, bits 5-6 the
//! method responses answer (GET, HEAD, CONNECT, POST).
//!
//! Checked: no panic; the same heads, bodies and errors whether the stream arrives whole, in
//! three pieces, or (when short) one byte at a time; bounded memory: a reader never holds more
//! than the head bound, and no head (with the empty lines and interim responses before it)
//! takes more input than that bound; every head read is written back by its writer and reads
//! again to itself.
#![no_main]

use laputa_core::http::Method;
use laputa_core::http1::{
    BodyDecoder, Http1Error, Limits, Progress, RequestHead, RequestReader, ResponseHead, ResponseReader,
};
use libfuzzer_sys::fuzz_target;

/// Bodies are drained with this bound.
const MAX_BODY: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let [mode, split_a, split_b, input @ ..] = data else { return };
    let a = (usize::from(*split_a) * input.len()) / 256;
    let b = a + (usize::from(*split_b) * (input.len() - a)) / 256;
    let whole = read(*mode, &[input]);
    let split = read(*mode, &[&input[..a], &input[a..b], &input[b..]]);
    assert_eq!(whole, split, "splitting at {a} and {b} changed what was read");
    if input.len() <= 512 {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(whole, read(*mode, &bytes), "byte by byte");
    }
});

fn limits(mode: u8) -> Limits {
    let mut limits = Limits::default();
    limits.max_head_size = [16 << 10, 1024, 256, 64][usize::from((mode >> 1) & 3)];
    limits.max_headers = [64, 4][usize::from((mode >> 3) & 1)];
    if mode & 0x10 != 0 {
        limits.max_request_line = 32;
    }
    limits
}

fn method(mode: u8) -> Method {
    [Method::GET, Method::HEAD, Method::CONNECT, Method::POST][usize::from((mode >> 5) & 3)].clone()
}

#[derive(Debug, PartialEq)]
enum Event {
    Request(RequestHead),
    Response(ResponseHead),
    Body(Vec<u8>),
    Failed(Http1Error),
    /// The end of the stream: whether a body read until the close ended it.
    End(Result<(), Http1Error>),
}

enum Reader {
    Requests(RequestReader),
    Responses(ResponseReader),
}

impl Reader {
    fn buffered(&self) -> usize {
        match self {
            Self::Requests(reader) => reader.buffered(),
            Self::Responses(reader) => reader.buffered(),
        }
    }
}

/// Reads the stream arriving in `pieces`.
fn read(mode: u8, pieces: &[&[u8]]) -> Vec<Event> {
    let limits = limits(mode);
    let method = method(mode);
    let mut reader = match mode & 1 {
        0 => Reader::Requests(RequestReader::new(limits)),
        _ => Reader::Responses(ResponseReader::new(limits)),
    };
    let mut events = Vec::new();
    let mut body: Option<(BodyDecoder, Vec<u8>)> = None;
    // Input taken by the head being read.
    let mut head_input = 0usize;
    for piece in pieces {
        let mut rest = *piece;
        loop {
            if let Some((decoder, out)) = &mut body {
                match decoder.push(rest, out) {
                    Ok(Progress::NeedMore) => break,
                    Ok(Progress::Done(used)) => {
                        assert!(out.len() as u64 <= MAX_BODY);
                        events.push(Event::Body(std::mem::take(out)));
                        body = None;
                        rest = &rest[used..];
                    }
                    Err(err) => {
                        events.push(Event::Failed(err));
                        return events;
                    }
                }
            }
            let result = match &mut reader {
                Reader::Requests(reader) => reader.push(rest).map(|done| {
                    done.map(|(head, used)| {
                        let framing = head.framing();
                        (Event::Request(check_request(head)), framing, used)
                    })
                }),
                Reader::Responses(reader) => reader.push(rest).map(|done| {
                    done.map(|(head, used)| {
                        let framing = head.framing(&method);
                        (Event::Response(check_response(head)), framing, used)
                    })
                }),
            };
            assert!(reader.buffered() <= limits.max_head_size, "a reader held more than its bound");
            match result {
                Ok(None) => {
                    head_input += rest.len();
                    assert!(head_input <= limits.max_head_size, "a head took more input than its bound");
                    break;
                }
                Ok(Some((head, framing, used))) => {
                    head_input += used;
                    assert!(head_input <= limits.max_head_size, "a head took more input than its bound");
                    head_input = 0;
                    events.push(head);
                    rest = &rest[used..];
                    match framing {
                        Ok(framing) => body = Some((BodyDecoder::new(framing, MAX_BODY), Vec::new())),
                        Err(err) => {
                            events.push(Event::Failed(err));
                            return events;
                        }
                    }
                }
                Err(err) => {
                    events.push(Event::Failed(err));
                    return events;
                }
            }
        }
    }
    if let Some((mut decoder, out)) = body {
        let end = decoder.push_eof();
        if end.is_ok() {
            events.push(Event::Body(out));
        }
        events.push(Event::End(end));
    }
    events
}

/// A head written back reads again to itself.
fn check_request(head: RequestHead) -> RequestHead {
    let mut written = Vec::new();
    head.write(&mut written);
    let mut reader = RequestReader::new(roomy());
    let (again, used) = reader.push(&written).expect("a written head reads").expect("a whole head");
    assert_eq!(used, written.len());
    assert_eq!(again, head, "{:?}", String::from_utf8_lossy(&written));
    head
}

fn check_response(head: ResponseHead) -> ResponseHead {
    let mut written = Vec::new();
    head.write(&mut written);
    let mut reader = ResponseReader::new(roomy());
    let (again, used) = reader.push(&written).expect("a written head reads").expect("a whole head");
    assert_eq!(used, written.len());
    assert_eq!(again, head, "{:?}", String::from_utf8_lossy(&written));
    head
}

/// Room for every head a fuzzed head can be written as.
fn roomy() -> Limits {
    let mut limits = Limits::default();
    limits.max_head_size = usize::MAX;
    limits.max_headers = 1 << 16;
    limits.max_request_line = usize::MAX;
    limits
}
