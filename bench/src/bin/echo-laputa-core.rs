//! Echo server on `laputa-core` driven directly by one mio loop on one thread: the core with no
//! adapter, to tell the core's cost from an adapter's, and the loop of an embedder who owns the
//! event loop. Every message of one read is answered before the one write of that read (the
//! "corking" of uWebSockets), as the drive loop of `ARCHITECTURE.md` does naturally. Large
//! frames are read straight into the core (`input_room`) and written from its queue
//! (`transmit`), so no payload is copied by the loop; a connection whose peer never stops
//! sending gets [`READS_PER_TURN`] reads, then waits for the others.
//! `echo-laputa-core [--addr HOST:PORT] [--count-allocs HOST:PORT] [--deflate]`.

use laputa_bench::{fail, std_listener, CountingAlloc, Phase, ServerOptions};
use laputa_core::handshake::{Accept, ServerHandshake};
use laputa_core::{Connection, Event};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read};
use std::net::Shutdown;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const LISTENER: Token = Token(usize::MAX);
/// Reads one connection gets before the loop turns to the others (mio's readiness is edge
/// triggered, so a connection whose socket still has data is driven again on the next turn).
const READS_PER_TURN: usize = 16;

fn main() {
    let options = ServerOptions::from_env(&[]);
    let config = options.laputa_config();
    let mut listener = TcpListener::from_std(std_listener(&options.addr));
    let mut poll = Poll::new().unwrap_or_else(|e| fail(e));
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE).unwrap_or_else(|e| fail(e));

    let mut server = Server { peers: Vec::new(), free: Vec::new(), again: Vec::new(), scratch: vec![0; 256 * 1024] };
    let mut events = Events::with_capacity(1024);
    loop {
        // The benchmark uses no keepalive, so the only deadlines are handshake and close ones:
        // checking them once a second is enough here. Connections whose turn ran out go on at
        // once.
        let timeout = if server.again.is_empty() { Duration::from_secs(1) } else { Duration::ZERO };
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                fail(e);
            }
        }
        for slot in std::mem::take(&mut server.again) {
            server.drive(&poll, slot);
        }
        for event in &events {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = server.free.pop().unwrap_or_else(|| {
                        server.peers.push(None);
                        server.peers.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if poll.registry().register(&mut stream, Token(slot), interest).is_ok() {
                        let handshake = ServerHandshake::new(config.clone(), Instant::now());
                        server.peers[slot] =
                            Some(Peer { stream, phase: Phase::Handshake(Box::new(handshake)), eof: false });
                        server.drive(&poll, slot);
                    } else {
                        server.free.push(slot);
                    }
                }
            } else {
                server.drive(&poll, event.token().0);
            }
        }
        let now = Instant::now();
        for slot in 0..server.peers.len() {
            let Some(peer) = server.peers[slot].as_mut() else { continue };
            if peer.phase.deadline().is_some_and(|d| d <= now) {
                peer.phase.handle_timeout(now);
                server.drive(&poll, slot);
            }
        }
    }
}

struct Server {
    peers: Vec<Option<Peer>>,
    free: Vec<usize>,
    /// Connections whose turn ended with their socket still readable.
    again: Vec<usize>,
    /// Where reads go while no large frame is arriving.
    scratch: Vec<u8>,
}

impl Server {
    fn drive(&mut self, poll: &Poll, slot: usize) {
        let Some(peer) = self.peers[slot].as_mut() else { return };
        match peer.drive(&mut self.scratch) {
            Turn::Waiting => {}
            Turn::Unfinished => self.again.push(slot),
            Turn::Over => {
                if let Some(mut peer) = self.peers[slot].take() {
                    let _ = poll.registry().deregister(&mut peer.stream);
                    self.free.push(slot);
                }
            }
        }
    }
}

/// How a connection's turn ended.
enum Turn {
    /// Its socket would block, for reading or for writing: it waits for an event.
    Waiting,
    /// It used its reads: drive it again after the others.
    Unfinished,
    /// The connection is over.
    Over,
}

struct Peer {
    stream: TcpStream,
    phase: Phase,
    /// The peer's FIN arrived: read no more, wait for the core to finish.
    eof: bool,
}

impl Peer {
    /// The drive loop until the socket would block or the turn's reads are used.
    fn drive(&mut self, scratch: &mut [u8]) -> Turn {
        for _ in 0..READS_PER_TURN {
            let connection = match &mut self.phase {
                Phase::Open(connection) => connection,
                Phase::Done => return Turn::Over,
                Phase::Handshake(handshake) => {
                    let n = match read(&mut self.stream, scratch) {
                        Ok(Some(n)) if n > 0 => n,
                        Ok(None) => return Turn::Waiting,
                        Ok(Some(_)) | Err(_) => return Turn::Over,
                    };
                    match handshake.handle_input(&scratch[..n]) {
                        Ok(None) => continue,
                        Ok(Some(request)) => match request.accept(Accept::default()) {
                            Ok(connection) => self.phase = Phase::Open(Box::new(connection)),
                            Err(_) => return Turn::Over,
                        },
                        Err(_) => return Turn::Over,
                    }
                    let Phase::Open(connection) = &mut self.phase else { unreachable!() };
                    connection
                }
            };
            while let Some(event) = connection.poll_event() {
                if let Event::Message(message) = event {
                    let _ = connection.send(message);
                }
            }
            // Everything answered while handling one read goes out in one write, as the async
            // driver does (waiting for the read that finds nothing, to gather the answers to
            // several reads, cost pipelined 16 KiB echoes 2x the CPU).
            if let Some(turn) = self.flush() {
                return turn;
            }
            if self.eof {
                return Turn::Waiting; // Everything is written: the core finishes on its deadline.
            }
            let Phase::Open(connection) = &mut self.phase else { unreachable!() };
            let read = match connection.input_room() {
                Some(room) => read(&mut self.stream, room).map(|n| n.map(|n| (n, true))),
                None => read(&mut self.stream, scratch).map(|n| n.map(|n| (n, false))),
            };
            match read {
                Ok(None) => return Turn::Waiting,
                Ok(Some((0, _))) => {
                    self.eof = true;
                    connection.handle_eof();
                }
                Ok(Some((n, true))) => connection.handle_input_read(n),
                Ok(Some((n, false))) => connection.handle_input(&scratch[..n]),
                Err(_) => return Turn::Over,
            }
        }
        // The last read's answers go out at the start of the next turn.
        Turn::Unfinished
    }

    /// Writes what the connection has queued; `Some` when that ends the connection's turn: it is
    /// over (or the socket failed), or the socket takes no more.
    fn flush(&mut self) -> Option<Turn> {
        let Phase::Open(connection) = &mut self.phase else { return None };
        match write(&mut self.stream, connection) {
            Ok(true) => {}
            Ok(false) => return Some(Turn::Waiting),
            Err(_) => return Some(Turn::Over),
        }
        if connection.poll_shutdown() {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        connection.is_finished().then_some(Turn::Over)
    }
}

/// One read: `None` if it would block.
fn read(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes what the connection has queued, straight from its queue, until the socket would
/// block; true once everything is out.
fn write(stream: &mut TcpStream, connection: &mut Connection) -> io::Result<bool> {
    while connection.wants_transmit() {
        let out = connection.transmit(Instant::now());
        while !out.is_empty() {
            match out.write_to(stream) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(true)
}
