//! An echo server that embeds laputa in its own event loop: one thread, mio, and `laputa-core`
//! driven directly, with no adapter code. It shows the drive loop of `ARCHITECTURE.md` in full,
//! for applications that bring their own loop.
//!
//! `event_loop_echo [--addr HOST:PORT] [--deflate]` (default 127.0.0.1:9001; `--help` lists the
//! flags). `--deflate` accepts permessage-deflate offers. It prints `event_loop_echo listening
//! on ws://ADDR` once it listens. Limits are raised to 64 MiB so that the Autobahn TestSuite's
//! large cases run.

use clap::Parser;
use laputa_core::handshake::{Accept, ServerHandshake};
use laputa_core::{Config, Connection, Event};
use laputa_examples::{conformance_config, fail, ServerFlags};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

const LISTENER: Token = Token(0);
/// Stop reading a connection while more than this waits to be written to it.
const HIGH_WATER: usize = 1 << 20;

/// An echo server on one thread: mio, and laputa-core driven directly (no adapter).
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
}

fn main() {
    let Flags { server: ServerFlags { addr, deflate } } = Flags::parse();
    laputa_examples::init_logging();
    let config = conformance_config(deflate);
    let addr = addr.parse().unwrap_or_else(|e| fail(format!("bad address {addr}: {e}")));
    let mut listener = TcpListener::bind(addr).unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    let mut poll = Poll::new().unwrap_or_else(|e| fail(e));
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE).unwrap_or_else(|e| fail(e));
    println!("event_loop_echo listening on ws://{}", listener.local_addr().unwrap_or(addr));

    let mut peers: HashMap<Token, Peer> = HashMap::new();
    let mut next_token = 1;
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0; 64 * 1024];
    loop {
        // The one timer of the loop: the earliest deadline of any connection.
        let now = Instant::now();
        let timeout = peers.values().filter_map(Peer::deadline).min().map(|d| d.saturating_duration_since(now));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                fail(e);
            }
        }
        let mut ready: Vec<Token> = Vec::new();
        for event in &events {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let token = Token(next_token);
                    next_token += 1;
                    let _ = stream.set_nodelay(true);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if poll.registry().register(&mut stream, token, interest).is_ok() {
                        peers.insert(token, Peer::new(stream, &config));
                        ready.push(token);
                    }
                }
            } else {
                ready.push(event.token());
            }
        }
        // Connections whose deadline passed.
        let now = Instant::now();
        for (token, peer) in &mut peers {
            if peer.deadline().is_some_and(|d| d <= now) {
                peer.handle_timeout(now);
                ready.push(*token);
            }
        }
        for token in ready {
            let Some(peer) = peers.get_mut(&token) else { continue };
            if !peer.drive(&mut scratch) {
                if let Some(mut peer) = peers.remove(&token) {
                    let _ = poll.registry().deregister(&mut peer.stream);
                }
            }
        }
    }
}

/// Where a connection stands.
enum Phase {
    /// Reading the upgrade request.
    Handshake(Box<ServerHandshake>),
    /// A WebSocket connection.
    Open(Box<Connection>),
    /// Refused: the error response is being written, then the socket closes.
    Refusing,
    /// Over: drop the socket.
    Done,
}

struct Peer {
    stream: TcpStream,
    phase: Phase,
    /// Output not yet written; `written` bytes of it are out.
    out: Vec<u8>,
    written: usize,
}

impl Peer {
    fn new(stream: TcpStream, config: &Config) -> Self {
        let handshake = ServerHandshake::new(config.clone(), Instant::now());
        Self { stream, phase: Phase::Handshake(Box::new(handshake)), out: Vec::new(), written: 0 }
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Handshake(handshake) => handshake.poll_timeout(),
            Phase::Open(connection) => connection.poll_timeout(),
            Phase::Refusing | Phase::Done => None,
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match &mut self.phase {
            Phase::Handshake(handshake) => {
                if handshake.handle_timeout(now).is_err() {
                    self.phase = Phase::Done;
                }
            }
            Phase::Open(connection) => connection.handle_timeout(now),
            Phase::Refusing | Phase::Done => {}
        }
    }

    /// Runs the drive loop until the socket would block; false once the connection is over.
    fn drive(&mut self, scratch: &mut [u8]) -> bool {
        loop {
            // Steps 2 and 3: events (echoing messages), then what the core emits.
            if let Phase::Open(connection) = &mut self.phase {
                while let Some(event) = connection.poll_event() {
                    if let Event::Message(message) = event {
                        let _ = connection.send(message);
                    }
                }
                connection.poll_transmit(Instant::now(), &mut self.out);
            }
            if self.write().is_err() {
                return false;
            }
            let flushed = self.written == self.out.len();
            // Steps 4 and 5: half-close when told, drop when finished.
            match &mut self.phase {
                Phase::Open(connection) => {
                    if flushed && connection.poll_shutdown() {
                        let _ = self.stream.shutdown(Shutdown::Write);
                    }
                    if connection.is_finished() {
                        return false;
                    }
                }
                Phase::Refusing if flushed => {
                    let _ = self.stream.shutdown(Shutdown::Write);
                    return false;
                }
                Phase::Done => return false,
                _ => {}
            }
            if self.out.len() - self.written > HIGH_WATER {
                return true; // Wait until the peer reads; a writable event resumes the loop.
            }
            // Step 1: read what arrived.
            match self.stream.read(scratch) {
                Ok(0) => match &mut self.phase {
                    Phase::Open(connection) => connection.handle_eof(),
                    _ => return false,
                },
                Ok(n) => self.handle_input(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => match &mut self.phase {
                    Phase::Open(connection) => connection.handle_eof(),
                    _ => return false,
                },
            }
        }
    }

    fn handle_input(&mut self, data: &[u8]) {
        match &mut self.phase {
            Phase::Handshake(handshake) => match handshake.handle_input(data) {
                Ok(None) => {}
                Ok(Some(request)) => match request.accept(Accept::default()) {
                    Ok(connection) => self.phase = Phase::Open(Box::new(connection)),
                    Err(_) => self.phase = Phase::Done,
                },
                Err(error) => match error.response_bytes() {
                    Some(response) => {
                        self.out.extend_from_slice(&response);
                        self.phase = Phase::Refusing;
                    }
                    None => self.phase = Phase::Done,
                },
            },
            Phase::Open(connection) => connection.handle_input(data),
            Phase::Refusing | Phase::Done => {}
        }
    }

    /// Writes pending output until done or the socket would block.
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
