//! Not a WebSocket server: a measuring instrument for the least CPU that any echo server spends
//! on this machine, whatever its library. It makes the same system calls as the most frugal
//! real server (one read per readiness, one write per read, one mio/epoll loop on one thread)
//! and does next to nothing else: it answers the load generator's fixed upgrade request with a
//! canned response, and each complete frame with a frame of the same length whose payload is
//! zeros, without unmasking, validating or copying the payload it received. No real server
//! can spend less per message, so its CPU per message bounds what a CPU target can ask.
//! `echo-floor [--addr HOST:PORT] [--count-allocs HOST:PORT]`; it refuses `--deflate`.
//!
//! It reads once per readiness and takes a read shorter than its buffer as the socket drained
//! (as tokio does), so that no read ends in `EAGAIN`: a wake-up costs one read.

use laputa_bench::{fail, std_listener, CountingAlloc, ServerOptions};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const LISTENER: Token = Token(usize::MAX);
const READ_CHUNK: usize = 128 * 1024;
/// The answer to the load generator's request (its key is fixed: RFC 6455's sample nonce).
const UPGRADE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("echo-floor");
    let mut listener = TcpListener::from_std(std_listener(&options.addr));
    let mut poll = Poll::new().unwrap_or_else(|e| fail(e));
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE).unwrap_or_else(|e| fail(e));
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0; READ_CHUNK];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() != io::ErrorKind::Interrupted {
                fail(e);
            }
        }
        for event in &events {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = peers.iter().position(Option::is_none).unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if poll.registry().register(&mut stream, Token(slot), interest).is_ok() {
                        peers[slot] = Some(Peer::new(stream));
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(peer) = peers.get_mut(slot).and_then(Option::as_mut) else { continue };
            if !peer.drive(&mut scratch, event.is_readable()) {
                if let Some(mut peer) = peers[slot].take() {
                    let _ = poll.registry().deregister(&mut peer.stream);
                }
            }
        }
    }
}

struct Peer {
    stream: TcpStream,
    upgraded: bool,
    /// The start of a frame header that a read cut short.
    head: Vec<u8>,
    /// Payload bytes of the current frame still to arrive, and its answer's length.
    skip: u64,
    answer_len: u64,
    /// Output not yet written; `written` bytes of it are out.
    out: Vec<u8>,
    written: usize,
}

impl Peer {
    fn new(stream: TcpStream) -> Self {
        Self { stream, upgraded: false, head: Vec::new(), skip: 0, answer_len: 0, out: Vec::new(), written: 0 }
    }

    /// One read (if readable) and one write; false once the connection is over.
    fn drive(&mut self, scratch: &mut [u8], readable: bool) -> bool {
        // A read that fills the buffer may have left more behind: read again.
        let mut more = readable;
        while more {
            let n = match self.stream.read(scratch) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            };
            more = n == scratch.len();
            if self.upgraded {
                self.answer(&scratch[..n]);
            } else if scratch[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                // The load generator sends its request alone and waits for the answer.
                self.upgraded = true;
                self.out.extend_from_slice(UPGRADE);
            }
        }
        self.write().is_ok()
    }

    /// Queues an answer of the same length for every frame that `input` completes.
    fn answer(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            if self.skip > 0 {
                let step = self.skip.min(input.len() as u64);
                self.skip -= step;
                input = &input[step as usize..];
                if self.skip == 0 {
                    self.queue_answer();
                }
                continue;
            }
            let take = input.len().min(14 - self.head.len());
            self.head.extend_from_slice(&input[..take]);
            let Some((header_len, payload_len)) = parse_header(&self.head) else {
                input = &input[take..];
                continue;
            };
            // Give back what was taken past the header: it is payload.
            let over = self.head.len() - header_len;
            input = &input[take - over..];
            self.head.clear();
            self.answer_len = payload_len;
            self.skip = payload_len;
            if payload_len == 0 {
                self.queue_answer();
            }
        }
    }

    fn queue_answer(&mut self) {
        let len = self.answer_len;
        match len {
            0..=125 => self.out.extend_from_slice(&[0x82, len as u8]),
            126..=0xffff => self.out.extend_from_slice(&[0x82, 126, (len >> 8) as u8, len as u8]),
            _ => {
                self.out.extend_from_slice(&[0x82, 127]);
                self.out.extend_from_slice(&len.to_be_bytes());
            }
        }
        self.out.resize(self.out.len() + len as usize, 0);
    }

    fn write(&mut self) -> io::Result<()> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.written = 0;
        Ok(())
    }
}

/// The header length and payload length of a masked client frame, once `head` holds it all.
fn parse_header(head: &[u8]) -> Option<(usize, u64)> {
    let second = *head.get(1)?;
    let rest = &head[2..];
    let (len_bytes, len) = match second & 0x7f {
        126 => (2, u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?))),
        127 => (8, u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)),
        len => (0, u64::from(len)),
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let header_len = 2 + len_bytes + mask;
    (head.len() >= header_len).then_some((header_len, len))
}
