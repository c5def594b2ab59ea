//! The HTTP/1.1 server connection (`laputa_core::http1::ServerConn`) fed arbitrary bytes, split
//! arbitrarily, with an application that answers every request, and a client that reads every
//! response back.
//!
//! Input: `mode`, `split`, then the bytes from the client. `mode` bit 0 picks small limits,
//! bit 1 makes the application accept bodies that wait for `100 Continue`, bits 2-3 how many
//! requests it lets wait before answering them (0, 1, 2, 4), bit 4 ends the input with an EOF,
//! bit 5 moves the clock between reads (so that timers fire), bits 6-7 shift the rotation of
//! response kinds (a `Content-Length`, chunked, empty, `Connection: close`). `split` seeds the
//! sizes of the reads (0: one read); the driver reads only while `wants_input` says so.
//!
//! Checked: no panic; no misuse error but those the documentation allows (`NoRequest` once the
//! connection closes); the output parses as a sequence of responses (interim `100`s skipped),
//! each framed as its request's method says; the application's responses come out in the order
//! of their requests; a response from the core is an error with `Connection: close`, and so is
//! the last one with it: nothing follows a `Connection: close`; bounded memory: unparsed input
//! stays under the bound plus one read, a body never exceeds `max_body`.
#![no_main]

use laputa_core::http::{header, HeaderValue, Method, Response};
use laputa_core::http1::{
    has_token, BodyDecoder, BodyKind, Framing, HttpEvent, Limits, Progress, ResponseError, ResponseReader, ServerConn,
    ServerLimits,
};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let [mode, split, input @ ..] = data else { return };
    let mut app = App::new(*mode);
    let mut rng = u32::from(*split);
    let mut rest = input;
    while !rest.is_empty() && !app.upgraded {
        let n = if *split == 0 {
            rest.len()
        } else {
            rng = rng.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            1 + (rng >> 16) as usize % 97
        }
        .min(rest.len());
        if app.conn.wants_input() {
            app.conn.handle_input(&rest[..n]);
            rest = &rest[n..];
            assert!(app.conn.buffered_input() <= app.limits.max_buffered_input + 97.max(n));
        }
        if mode & 0x20 != 0 {
            app.tick(Duration::from_millis(u64::from((rng >> 8) & 0xffff) * 8));
        }
        if !app.step() {
            // Stuck: nothing wanted more input and the application has nothing to do.
            break;
        }
    }
    if mode & 0x10 != 0 && !app.upgraded {
        app.conn.handle_eof();
        app.step();
    }
    // Answer what is left, and let the timers run out.
    app.flush = true;
    for _ in 0..4 {
        app.tick(Duration::from_secs(120));
        app.step();
    }
    app.check_output();
});

/// What the application knows of a request it answers.
struct Seen {
    head: bool,
}

struct App {
    conn: ServerConn,
    limits: ServerLimits,
    now: Instant,
    mode: u8,
    /// Requests yielded and not answered yet, oldest first.
    waiting: VecDeque<Seen>,
    /// The method of each request answered, by sequence number.
    answered: Vec<bool>,
    /// Bytes of the current request body.
    body: u64,
    closed: bool,
    upgraded: bool,
    /// Answer every waiting request.
    flush: bool,
    out: Vec<u8>,
}

impl App {
    fn new(mode: u8) -> Self {
        let limits = if mode & 1 != 0 {
            let mut limits = ServerLimits::default();
            limits.max_request_line = 64;
            limits.max_head_size = 256;
            limits.max_headers = 8;
            limits.max_body = 64;
            limits.max_drain = 16;
            limits.max_pipelined = 2;
            limits.max_buffered_input = 256;
            limits
        } else {
            ServerLimits::default()
        };
        let now = Instant::now();
        Self {
            conn: ServerConn::new(limits, now),
            limits,
            now,
            mode,
            waiting: VecDeque::new(),
            answered: Vec::new(),
            body: 0,
            closed: false,
            upgraded: false,
            flush: false,
            out: Vec::new(),
        }
    }

    fn tick(&mut self, by: Duration) {
        self.now += by;
        if self.conn.poll_timeout().is_some_and(|deadline| deadline <= self.now) {
            self.conn.handle_timeout(self.now);
        }
    }

    /// Handles events, answers and writes until nothing moves; whether anything did.
    fn step(&mut self) -> bool {
        let mut moved = false;
        loop {
            let mut progress = false;
            while let Some(event) = self.conn.poll_event() {
                progress = true;
                self.on_event(event);
            }
            let lag = [0, 1, 2, 4][usize::from((self.mode >> 2) & 3)];
            let stuck = self.flush || self.conn.buffered_input() > 0 || !self.conn.wants_input();
            while !self.closed && (self.waiting.len() > lag || (stuck && !self.waiting.is_empty())) {
                self.answer();
                progress = true;
            }
            let before = self.out.len();
            self.conn.poll_transmit(self.now, &mut self.out);
            progress |= self.out.len() != before;
            if self.conn.poll_shutdown() {
                progress = true;
            }
            if !progress {
                return moved;
            }
            moved = true;
        }
    }

    fn on_event(&mut self, event: HttpEvent) {
        match event {
            HttpEvent::Request { request, body, expects_continue } => {
                self.body = 0;
                if let BodyKind::Length(n) = body {
                    assert!(n <= self.limits.max_body);
                }
                if expects_continue && self.mode & 2 != 0 {
                    self.conn.accept_body();
                }
                self.waiting.push_back(Seen { head: request.method() == Method::HEAD });
            }
            HttpEvent::BodyData(data) => {
                assert!(!data.is_empty());
                self.body += data.len() as u64;
                assert!(self.body <= self.limits.max_body);
            }
            HttpEvent::BodyEnd { .. } | HttpEvent::Error(_) => {}
            HttpEvent::Upgrade { .. } => {
                assert!(self.waiting.is_empty(), "an upgrade comes after every earlier answer");
                self.upgraded = true;
            }
            _ => {}
        }
    }

    /// Answers the oldest waiting request with the next kind of response.
    fn answer(&mut self) {
        let seen = self.waiting.pop_front().expect("a waiting request");
        let seq = self.answered.len();
        let mut head = Response::new(());
        head.headers_mut().insert("x-seq", HeaderValue::from(seq));
        let kind = (seq + usize::from(self.mode >> 6)) % 4;
        if kind == 3 {
            head.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let body = format!("response {seq}");
        let result = match kind {
            0 | 3 => self.conn.respond_full(head, body.clone().into_bytes()),
            1 => self.conn.respond(head, BodyKind::Chunked).and_then(|()| {
                self.conn.send_body(body.as_bytes())?;
                self.conn.send_body(b"")?;
                self.conn.send_body(b"!")?;
                self.conn.finish_body()
            }),
            _ => self.conn.respond(head, BodyKind::Empty),
        };
        match result {
            Ok(()) => self.answered.push(seen.head),
            Err(ResponseError::NoRequest) => {
                // The connection closes (an error, an EOF, a close): the rest is unanswered.
                self.closed = true;
                self.waiting.clear();
            }
            Err(err) => panic!("{err:?}"),
        }
    }

    /// Reads the output back as a client would.
    fn check_output(&self) {
        let mut limits = Limits::default();
        limits.max_head_size = 1 << 20;
        let mut reader = ResponseReader::new(limits);
        let mut rest = &self.out[..];
        let mut next_seq = 0;
        while !rest.is_empty() {
            let (head, used) = reader
                .push(rest)
                .expect("responses parse")
                .unwrap_or_else(|| panic!("an incomplete head: {:?}", String::from_utf8_lossy(rest)));
            rest = &rest[used..];
            let seq = head.headers.get("x-seq").map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
            let closes = has_token(&head.headers, &header::CONNECTION, "close");
            let is_head = match seq {
                Some(seq) => {
                    assert_eq!(seq, next_seq, "responses in the order of their requests");
                    next_seq += 1;
                    self.answered[seq]
                }
                None => {
                    assert!(head.status.is_client_error() || head.status.is_server_error(), "{head:?}");
                    assert!(closes, "an error closes");
                    // Its body is omitted for HEAD, which the client knows and we do not.
                    let cl: usize = head.headers["content-length"].to_str().unwrap().parse().unwrap();
                    assert!(rest.len() == cl || rest.is_empty(), "nothing after an error");
                    return;
                }
            };
            let method = if is_head { Method::HEAD } else { Method::GET };
            let framing = head.framing(&method).expect("responses are framed");
            let mut decoder = BodyDecoder::new(framing, 1 << 20);
            let mut body = Vec::new();
            match decoder.push(rest, &mut body).expect("bodies decode") {
                Progress::Done(used) => rest = &rest[used..],
                Progress::NeedMore => {
                    assert_eq!(framing, Framing::ReadToClose, "a body cut short");
                    rest = &[];
                }
            }
            if !is_head {
                assert!(body.starts_with(b"response ") || body.is_empty(), "{body:?}");
            }
            if closes || framing == Framing::ReadToClose {
                assert!(rest.is_empty(), "nothing after Connection: close");
            }
        }
        assert_eq!(next_seq, self.answered.len(), "every answer was written");
    }
}
