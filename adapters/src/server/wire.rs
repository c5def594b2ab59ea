//! How a threaded session's bytes cross its socket ([`threads`](super::threads)): as they are
//! ([`Plain`]) or through rustls ([`Tls`], feature `rustls`). A wire lives under the session's
//! lock beside the core: the reader hands it what it read from the TCP socket, the writer takes
//! from it a window of bytes to write with no lock held. What is not yet written stays counted
//! in the core, so that its write-stall deadline sees a peer that stopped reading.

use laputa_core::bytes::Buf;
use laputa_core::{Connection, TransmitQueue};
use std::io::{self, IoSlice};
use std::time::Instant;

/// The most bytes a writer copies out for one write.
pub(crate) const WRITE_WINDOW: usize = 64 * 1024;

/// A session's way over its socket.
pub(crate) trait Wire: Send + 'static {
    /// Bytes read from the socket, for the core (empty: look at what is already buffered).
    fn input(&mut self, connection: &mut Connection, data: &[u8]) -> io::Result<()>;
    /// Copies the next bytes to write into `window` (empty: nothing to write); they stay the
    /// wire's, and counted unwritten in the core, until [`written`](Self::written).
    fn stage(&mut self, connection: &mut Connection, now: Instant, window: &mut Vec<u8>);
    /// The socket took the first `n` bytes of the last window.
    fn written(&mut self, connection: &mut Connection, n: usize);
    /// The core is done writing: what ends the stream before the TCP FIN (TLS `close_notify`).
    fn close(&mut self);
}

/// Appends the front of `queue` to `out`, up to `max` bytes in all, without taking it.
fn copy_front(queue: &TransmitQueue, out: &mut Vec<u8>, max: usize) {
    let mut slices = [IoSlice::new(&[]); 16];
    let count = queue.chunks_vectored(&mut slices);
    for slice in &slices[..count] {
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&slice[..slice.len().min(room)]);
    }
}

/// Takes `n` written bytes off the core's queue (never more than it holds: a queue dropped by
/// a failure meanwhile has nothing left to take).
fn advance(connection: &mut Connection, n: usize) {
    let queue = connection.transmit(Instant::now());
    let n = n.min(queue.remaining());
    queue.advance(n);
}

/// Plain TCP: the core's bytes as they are.
pub(crate) struct Plain;

impl Wire for Plain {
    fn input(&mut self, connection: &mut Connection, data: &[u8]) -> io::Result<()> {
        if !data.is_empty() {
            connection.handle_input(data);
        }
        Ok(())
    }

    fn stage(&mut self, connection: &mut Connection, now: Instant, window: &mut Vec<u8>) {
        if connection.wants_transmit() {
            copy_front(connection.transmit(now), window, WRITE_WINDOW);
        }
    }

    fn written(&mut self, connection: &mut Connection, n: usize) {
        advance(connection, n);
    }

    fn close(&mut self) {}
}

/// TLS with rustls, its handshake done: the session's `ServerConnection`. One record (at most
/// 16 KiB of the core's bytes) is out at a time, and its plaintext leaves the core only once
/// all of its ciphertext is written.
#[cfg(feature = "rustls")]
pub(crate) struct Tls {
    session: rustls::ServerConnection,
    /// Ciphertext to write: a record of the core's bytes, or rustls' own (alerts, tickets).
    out: Vec<u8>,
    /// The core's bytes that `out` carries.
    carried: usize,
    /// Plaintext on its way into the core or into rustls.
    plaintext: Vec<u8>,
}

/// The most plaintext in one TLS record.
#[cfg(feature = "rustls")]
const RECORD: usize = 16 * 1024;

#[cfg(feature = "rustls")]
impl Tls {
    pub(crate) fn new(session: rustls::ServerConnection) -> Self {
        Self { session, out: Vec::new(), carried: 0, plaintext: Vec::new() }
    }

    /// Deciphers what rustls holds and hands the plaintext to the core.
    fn process(&mut self, connection: &mut Connection) -> io::Result<()> {
        let state = self.session.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let ready = state.plaintext_bytes_to_read();
        if ready > 0 {
            self.plaintext.resize(ready, 0);
            io::Read::read_exact(&mut self.session.reader(), &mut self.plaintext)?;
            connection.handle_input(&self.plaintext);
        }
        if state.peer_has_closed() {
            connection.handle_eof();
        }
        Ok(())
    }
}

#[cfg(feature = "rustls")]
impl Wire for Tls {
    fn input(&mut self, connection: &mut Connection, mut data: &[u8]) -> io::Result<()> {
        self.process(connection)?;
        // rustls takes a few KiB at a time: feed it all, deciphering as it goes.
        while !data.is_empty() {
            if self.session.read_tls(&mut data)? == 0 {
                break; // after close_notify, nothing more is read
            }
            self.process(connection)?;
        }
        Ok(())
    }

    fn stage(&mut self, connection: &mut Connection, now: Instant, window: &mut Vec<u8>) {
        if self.out.is_empty() {
            if connection.wants_transmit() {
                self.plaintext.clear();
                copy_front(connection.transmit(now), &mut self.plaintext, RECORD);
                if !self.plaintext.is_empty() {
                    self.carried = io::Write::write(&mut self.session.writer(), &self.plaintext).unwrap_or(0);
                }
            }
            while self.session.wants_write() {
                if self.session.write_tls(&mut self.out).is_err() {
                    break;
                }
            }
        }
        window.extend_from_slice(&self.out[..self.out.len().min(WRITE_WINDOW)]);
    }

    fn written(&mut self, connection: &mut Connection, n: usize) {
        self.out.drain(..n.min(self.out.len()));
        if self.out.is_empty() {
            advance(connection, std::mem::take(&mut self.carried));
        }
    }

    fn close(&mut self) {
        self.session.send_close_notify();
    }
}
