//! Echo server on `laputa-core` driven directly by one mio loop on one thread: the core with no
//! adapter, to tell the core's cost from an adapter's. Every message of one read is answered
//! before the one write of that read (the "corking" of uWebSockets), as the drive loop of
//! `ARCHITECTURE.md` does naturally.
//! `echo-laputa-core [--addr HOST:PORT] [--count-allocs HOST:PORT] [--deflate]`.

use laputa_bench::{fail, std_listener, CountingAlloc, ServerOptions};
use laputa_core::handshake::{Accept, ServerHandshake};
use laputa_core::{Connection, Event};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const LISTENER: Token = Token(usize::MAX);
/// Stop reading a connection while more than this waits to be written to it.
const HIGH_WATER: usize = 4 << 20;

fn main() {
    let options = ServerOptions::from_env(&[]);
    let config = options.laputa_config();
    let mut listener = TcpListener::from_std(std_listener(&options.addr));
    let mut poll = Poll::new().unwrap_or_else(|e| fail(e));
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE).unwrap_or_else(|e| fail(e));

    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0; 64 * 1024];
    loop {
        // The benchmark uses no keepalive, so the only deadlines are handshake and close ones:
        // checking them once a second is enough here.
        if let Err(e) = poll.poll(&mut events, Some(std::time::Duration::from_secs(1))) {
            if e.kind() != io::ErrorKind::Interrupted {
                fail(e);
            }
        }
        for event in &events {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = free.pop().unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if poll.registry().register(&mut stream, Token(slot), interest).is_ok() {
                        let handshake = ServerHandshake::new(config.clone(), Instant::now());
                        peers[slot] = Some(Peer {
                            stream,
                            phase: Phase::Handshake(handshake),
                            out: Vec::new(),
                            written: 0,
                            eof: false,
                        });
                        drive_slot(&mut peers, &mut free, &poll, slot, &mut scratch);
                    } else {
                        free.push(slot);
                    }
                }
            } else {
                drive_slot(&mut peers, &mut free, &poll, event.token().0, &mut scratch);
            }
        }
        let now = Instant::now();
        for slot in 0..peers.len() {
            let Some(peer) = peers[slot].as_mut() else { continue };
            if peer.deadline().is_some_and(|d| d <= now) {
                peer.handle_timeout(now);
                drive_slot(&mut peers, &mut free, &poll, slot, &mut scratch);
            }
        }
    }
}

fn drive_slot(peers: &mut [Option<Peer>], free: &mut Vec<usize>, poll: &Poll, slot: usize, scratch: &mut [u8]) {
    let Some(peer) = peers[slot].as_mut() else { return };
    if !peer.drive(scratch) {
        if let Some(mut peer) = peers[slot].take() {
            let _ = poll.registry().deregister(&mut peer.stream);
            free.push(slot);
        }
    }
}

enum Phase {
    Handshake(ServerHandshake),
    Open(Box<Connection>),
    Done,
}

struct Peer {
    stream: TcpStream,
    phase: Phase,
    /// Output not yet written; `written` bytes of it are out.
    out: Vec<u8>,
    written: usize,
    /// The peer's FIN arrived: read no more, wait for the core to finish.
    eof: bool,
}

impl Peer {
    fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Handshake(handshake) => handshake.poll_timeout(),
            Phase::Open(connection) => connection.poll_timeout(),
            Phase::Done => None,
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
            Phase::Done => {}
        }
    }

    /// The drive loop until the socket would block; false once the connection is over.
    fn drive(&mut self, scratch: &mut [u8]) -> bool {
        loop {
            if let Phase::Open(connection) = &mut self.phase {
                while let Some(event) = connection.poll_event() {
                    if let Event::Message(message) = event {
                        let _ = connection.send(message);
                    }
                }
                if self.written == self.out.len() {
                    self.out.clear();
                    self.written = 0;
                }
                connection.poll_transmit(Instant::now(), &mut self.out);
            }
            if self.write().is_err() {
                return false;
            }
            let flushed = self.written == self.out.len();
            match &mut self.phase {
                Phase::Open(connection) => {
                    if flushed && connection.poll_shutdown() {
                        let _ = self.stream.shutdown(Shutdown::Write);
                    }
                    if connection.is_finished() {
                        return false;
                    }
                }
                Phase::Done => return false,
                Phase::Handshake(_) => {}
            }
            if self.eof || self.out.len() - self.written > HIGH_WATER {
                return true; // Wait for the socket to drain before reading more.
            }
            let n = match self.stream.read(scratch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            };
            match &mut self.phase {
                Phase::Handshake(handshake) => {
                    if n == 0 {
                        return false;
                    }
                    match handshake.handle_input(&scratch[..n]) {
                        Ok(None) => {}
                        Ok(Some(request)) => match request.accept(Accept::default()) {
                            Ok(connection) => self.phase = Phase::Open(Box::new(connection)),
                            Err(_) => return false,
                        },
                        Err(_) => return false,
                    }
                }
                Phase::Open(connection) if n == 0 => {
                    self.eof = true;
                    connection.handle_eof();
                }
                Phase::Open(connection) => connection.handle_input(&scratch[..n]),
                Phase::Done => return false,
            }
        }
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
        Ok(())
    }
}
