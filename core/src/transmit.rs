//! Bytes waiting to be written to the peer, as a queue of chunks. Small frames are gathered in
//! one buffer, so that everything queued while handling one read goes out in one write; a large
//! payload sent without a mask joins the queue as the [`Bytes`] it came in, beside its frame
//! header, so that it goes out in a vectored write instead of being copied behind the header.

use crate::frame::MAX_HEADER_LEN;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

/// Payloads at least this long are queued as their own chunk rather than copied behind their
/// header. Below it a copy costs less than the second slice of a vectored write. An echoed
/// payload is a slice of the input buffer, which it keeps from being reused until it is
/// written; that mattered while input buffers were reused whatever their size (pipelined 16 KiB
/// echoes were 1.2x slower with a 4 KiB threshold then), but a buffer that takes in a window
/// of such frames is now released once read anyway. Measured with 16 KiB echoes against a 32
/// KiB threshold: closed loop 1.05x to 0.98x, pipelined 0.89x to 0.85x of the best peer's CPU.
pub(crate) const SHARE_MIN: usize = 8 * 1024;

/// A frame prepared once for many connections ([`PreparedMessage`](crate::PreparedMessage)) is
/// shared from this length on (about where a frame header gives an extended length), where one
/// connection's own payload waits for [`SHARE_MIN`]: the prepared bytes would otherwise be
/// copied into every queue, so sharing saves a copy per connection and holds the frame once
/// however many queues it waits in. Below it a frame is copied into the gathering buffer: at
/// most 127 bytes, against a 32-byte queue entry and a reference count that every queue
/// holding the frame touches, and the small frames stay in one chunk for one plain write.
pub(crate) const PREPARED_SHARE_MIN: usize = 126;

/// A gathering buffer that grew past this is released once written, so that one large burst
/// does not pin its size for the life of the connection.
const KEEP_CAPACITY: usize = 64 * 1024;

/// The bytes a [`Connection`](crate::Connection) has queued for the peer, handed to the driver by
/// [`Connection::transmit`](crate::Connection::transmit). It is a [`Buf`]: write
/// [`chunks_vectored`](Buf::chunks_vectored) (or [`chunk`](Buf::chunk)) to the socket and
/// [`advance`](Buf::advance) past what the socket took; the rest stays queued for the next call.
/// Once it is all written, call `transmit` again while
/// [`Connection::wants_transmit`](crate::Connection::wants_transmit) says so: answers to pings
/// that waited for earlier ones to be written join then.
///
/// ```
/// use laputa_core::bytes::Buf;
/// use laputa_core::{Config, Connection, Message, Role};
/// use std::io::{IoSlice, Write};
/// use std::time::Instant;
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// server.send(Message::from("Hello")).unwrap();
/// let mut socket = Vec::new(); // stands in for a socket
/// while server.wants_transmit() {
///     let queue = server.transmit(Instant::now());
///     while queue.has_remaining() {
///         let mut slices = [IoSlice::new(&[]); 16];
///         let count = queue.chunks_vectored(&mut slices);
///         let written = socket.write_vectored(&slices[..count]).unwrap();
///         queue.advance(written);
///     }
/// }
/// assert_eq!(socket, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
/// ```
#[derive(Debug, Default)]
pub struct TransmitQueue {
    /// Chunks queued before `tail`, oldest first.
    sealed: VecDeque<Chunk>,
    /// Frames gathered after the last sealed chunk.
    tail: BytesMut,
    /// Bytes in `sealed`.
    sealed_len: usize,
    /// Bytes advanced past since the queue was made.
    written: u64,
}

impl TransmitQueue {
    /// Appends bytes by copying them into the gathering buffer.
    pub(crate) fn push_slice(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
    }

    /// Appends a frame: `header`, then `payload` without copying it when it is large enough to
    /// be worth its own chunk. The header is then held inline (at most
    /// [`MAX_HEADER_LEN`] bytes), so that a stream of such frames allocates nothing.
    pub(crate) fn push_shared(&mut self, header: &[u8], payload: &Bytes) {
        self.push_shared_from(header, payload, SHARE_MIN);
    }

    /// Appends a whole frame prepared once for many connections ([`PreparedMessage`]), shared
    /// from [`PREPARED_SHARE_MIN`] bytes on.
    ///
    /// [`PreparedMessage`]: crate::PreparedMessage
    pub(crate) fn push_prepared(&mut self, frame: &Bytes) {
        self.push_shared_from(&[], frame, PREPARED_SHARE_MIN);
    }

    fn push_shared_from(&mut self, header: &[u8], payload: &Bytes, min: usize) {
        if payload.len() < min {
            self.push_slice(header);
            return self.push_slice(payload);
        }
        if !self.tail.is_empty() {
            let gathered = self.tail.split().freeze();
            self.sealed_len += gathered.len();
            self.sealed.push_back(Chunk::Shared(gathered));
        }
        if !header.is_empty() {
            self.sealed_len += header.len();
            self.sealed.push_back(Chunk::header(header));
        }
        self.sealed_len += payload.len();
        self.sealed.push_back(Chunk::Shared(payload.clone()));
    }

    /// The gathering buffer, for encoding a frame in place (a masked payload is copied anyway).
    pub(crate) fn tail_mut(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// The position just past the last byte queued, counted since the queue was made: once
    /// [`written`](Self::written) reaches it, everything queued so far has gone out.
    pub(crate) fn end_position(&self) -> u64 {
        self.written + self.remaining() as u64
    }

    /// Bytes advanced past since the queue was made.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Most chunks handed to one vectored write by [`write_to`](Self::write_to).
    pub const MAX_WRITE_SLICES: usize = 64;

    /// Writes queued bytes to `writer` with one call and advances past what it took, for
    /// drivers over [`std::io::Write`] (as rustls' `write_tls` is): a plain `write` when one
    /// chunk is queued (the usual case, as small frames are gathered), which costs the kernel
    /// less than a vectored write of one buffer, else `write_vectored` of up to
    /// [`MAX_WRITE_SLICES`](Self::MAX_WRITE_SLICES) chunks. Returns what the writer returned:
    /// `Ok(0)` with bytes queued means the writer takes no more, and `WouldBlock` leaves the
    /// queue as it was.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::from("Hello")).unwrap();
    /// let mut socket = Vec::new(); // stands in for a socket
    /// while server.wants_transmit() {
    ///     let queue = server.transmit(Instant::now());
    ///     while !queue.is_empty() {
    ///         queue.write_to(&mut socket).unwrap();
    ///     }
    /// }
    /// assert_eq!(socket, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    /// ```
    pub fn write_to(&mut self, writer: &mut impl Write) -> io::Result<usize> {
        let written = if self.chunk().len() == self.remaining() {
            writer.write(self.chunk())?
        } else {
            let mut slices = [IoSlice::new(&[]); Self::MAX_WRITE_SLICES];
            let count = self.chunks_vectored(&mut slices);
            writer.write_vectored(&slices[..count])?
        };
        self.advance(written);
        Ok(written)
    }

    /// Whether nothing is queued.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// assert!(server.transmit(Instant::now()).is_empty());
    /// server.send(Message::from("Hello"))?;
    /// let queue = server.transmit(Instant::now());
    /// let mut socket = Vec::new(); // stands in for a socket
    /// while !queue.is_empty() {
    ///     queue.write_to(&mut socket)?;
    /// }
    /// assert_eq!(socket.len(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        !self.has_remaining()
    }

    /// Drops everything queued, when the transport failed and nothing more can be written.
    /// What it drops does not count as written: a driver that waits for a position of
    /// [`Connection::transmitted`](crate::Connection::transmitted) (a message's completion)
    /// learns that it is never reached.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::from("Hello"))?;
    /// // The socket failed: nothing queued can be written any more.
    /// server.transmit(Instant::now()).clear();
    /// assert_eq!(server.pending_transmit(), 0);
    /// assert_eq!(server.transmitted(), 0, "none of it was written");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn clear(&mut self) {
        *self = Self { written: self.written, ..Self::default() };
    }

    /// Called once the queue is empty: a large gathering buffer is not kept.
    fn release_if_large(&mut self) {
        if self.tail.capacity() > KEEP_CAPACITY {
            self.tail = BytesMut::new();
        }
    }
}

/// A chunk queued before the gathering buffer.
#[derive(Debug)]
enum Chunk {
    /// A payload shared with its owner, or frames gathered before it.
    Shared(Bytes),
    /// The header of a shared payload, held inline: `bytes[start..end]` is still to go.
    Header { bytes: [u8; MAX_HEADER_LEN], start: u8, end: u8 },
}

impl Chunk {
    fn header(header: &[u8]) -> Self {
        let mut bytes = [0; MAX_HEADER_LEN];
        bytes[..header.len()].copy_from_slice(header);
        Chunk::Header { bytes, start: 0, end: header.len() as u8 }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Shared(bytes) => bytes,
            Chunk::Header { bytes, start, end } => &bytes[usize::from(*start)..usize::from(*end)],
        }
    }

    /// Moves past `n` bytes, at most [`as_slice`](Self::as_slice)'s length.
    fn advance(&mut self, n: usize) {
        match self {
            Chunk::Shared(bytes) => bytes.advance(n),
            Chunk::Header { start, .. } => *start += n as u8,
        }
    }
}

impl Buf for TransmitQueue {
    fn remaining(&self) -> usize {
        self.sealed_len + self.tail.len()
    }

    fn chunk(&self) -> &[u8] {
        self.sealed.front().map_or(&self.tail[..], Chunk::as_slice)
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let chunks = self.sealed.iter().map(Chunk::as_slice).chain([&self.tail[..]]);
        let mut count = 0;
        for (slot, chunk) in dst.iter_mut().zip(chunks.filter(|chunk| !chunk.is_empty())) {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        count
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining(), "advanced past the end of the transmit queue");
        self.written += cnt as u64;
        while cnt > 0 {
            let Some(front) = self.sealed.front_mut() else {
                // Written to its end (the usual case), the gathering buffer is emptied without
                // moving its start, so that the next frame is encoded at its front with no
                // reclaiming.
                if cnt == self.tail.len() {
                    self.tail.clear();
                } else {
                    self.tail.advance(cnt);
                }
                break;
            };
            let len = front.as_slice().len();
            let step = cnt.min(len);
            front.advance(step);
            self.sealed_len -= step;
            cnt -= step;
            if step == len {
                self.sealed.pop_front();
            }
        }
        if self.sealed.is_empty() && self.tail.is_empty() {
            self.release_if_large();
        }
    }

    /// Takes the next `len` bytes as [`Bytes`], without a copy when they lie in one chunk (the
    /// frames gathered so far, or a large payload), for drivers that hand the kernel memory it
    /// keeps until the write completes (io_uring, IOCP): take each [`chunk`](Buf::chunk) this
    /// way and the queue is free to take new frames while the write is in flight. Bytes that
    /// span chunks, or a frame header held inline, are copied.
    ///
    /// ```
    /// use laputa_core::bytes::{Buf, Bytes};
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::from("Hello")).unwrap();
    /// let mut in_flight: Vec<Bytes> = Vec::new(); // stands in for writes the kernel holds
    /// let queue = server.transmit(Instant::now());
    /// while queue.has_remaining() {
    ///     let len = queue.chunk().len();
    ///     in_flight.push(queue.copy_to_bytes(len));
    /// }
    /// server.send(Message::from("again")).unwrap(); // the queue goes on meanwhile
    /// assert_eq!(in_flight.concat(), [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    /// ```
    ///
    /// # Panics
    ///
    /// If `len` is more than is queued.
    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        assert!(len <= self.remaining(), "took more than the transmit queue holds");
        let taken = match self.sealed.front_mut() {
            None => self.tail.split_to(len).freeze(),
            Some(Chunk::Shared(bytes)) if len <= bytes.len() => {
                let taken = bytes.split_to(len);
                self.sealed_len -= len;
                if bytes.is_empty() {
                    self.sealed.pop_front();
                }
                taken
            }
            Some(_) => {
                let mut copy = BytesMut::with_capacity(len);
                copy.put((&mut *self).take(len));
                return copy.freeze();
            }
        };
        self.written += len as u64;
        if self.sealed.is_empty() && self.tail.is_empty() {
            self.release_if_large();
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut TransmitQueue, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while queue.has_remaining() {
            let take = queue.chunk().len().min(step);
            out.extend_from_slice(&queue.chunk()[..take]);
            queue.advance(take);
        }
        out
    }

    #[test]
    fn a_queue_written_whole_encodes_the_next_frame_at_the_front_of_its_buffer() {
        let mut queue = TransmitQueue::default();
        queue.tail_mut().reserve(4096);
        queue.push_slice(&[1; 100]);
        let start = queue.chunk().as_ptr();
        queue.advance(100);
        assert!(!queue.has_remaining());
        queue.push_slice(&[2; 100]);
        assert_eq!(queue.chunk().as_ptr(), start, "the buffer is reused from its start");
        assert_eq!(queue.chunk(), &[2; 100]);
        assert_eq!(queue.written(), 100);
    }

    #[test]
    fn small_payloads_are_gathered_into_one_chunk() {
        let mut queue = TransmitQueue::default();
        queue.push_shared(b"ab", &Bytes::from_static(b"cd"));
        assert_eq!(queue.chunk(), b"abcd");
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(queue.chunks_vectored(&mut slices), 1);
    }

    #[test]
    fn large_payloads_are_queued_without_a_copy_and_in_order() {
        let large = Bytes::from(vec![7u8; SHARE_MIN]);
        let mut queue = TransmitQueue::default();
        queue.push_slice(b"h0");
        queue.push_shared(b"h1", &large);
        queue.push_shared(b"h2", &large);
        queue.push_slice(b"end");
        assert_eq!(queue.remaining(), 2 * SHARE_MIN + 9);
        let mut slices = [IoSlice::new(&[]); 8];
        let count = queue.chunks_vectored(&mut slices);
        assert_eq!(count, 6);
        assert_eq!(slices[2].as_ptr(), large.as_ptr(), "the payload is the caller's memory");
        assert_eq!(slices[4].as_ptr(), large.as_ptr());
        let mut expected = b"h0h1".to_vec();
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"h2");
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"end");
        assert_eq!(drain(&mut queue, 1000), expected);
    }

    #[test]
    fn frames_of_shared_payloads_take_no_gathering_buffer() {
        let large = Bytes::from(vec![3u8; SHARE_MIN]);
        let mut queue = TransmitQueue::default();
        for _ in 0..3 {
            queue.push_shared(&[0x82, 126, 0x20, 0x00], &large);
            // The header is held inline, beside the payload: nothing was allocated for it.
            assert_eq!(queue.tail.capacity(), 0);
            let out = drain(&mut queue, 3);
            assert_eq!(out[..4], [0x82, 126, 0x20, 0x00]);
            assert_eq!(out[4..], large[..]);
        }
    }

    #[test]
    fn vectored_output_stops_at_the_slots_given() {
        let large = Bytes::from(vec![1u8; SHARE_MIN]);
        let mut queue = TransmitQueue::default();
        queue.push_shared(b"", &large);
        queue.push_slice(b"x");
        queue.push_shared(b"", &large);
        let mut slices = [IoSlice::new(&[]); 2];
        assert_eq!(queue.chunks_vectored(&mut slices), 2);
        assert_eq!(slices[1].len(), 1);
    }

    #[test]
    fn advancing_across_chunks_in_any_step_gives_the_same_bytes() {
        for step in [1, 3, 4095, 4096, 4097, 10_000] {
            let mut queue = TransmitQueue::default();
            let large: Bytes = (0..SHARE_MIN + 5).map(|i| i as u8).collect::<Vec<u8>>().into();
            queue.push_shared(b"head", &large);
            queue.push_slice(b"tail");
            let out = drain(&mut queue, step);
            assert_eq!(&out[..4], b"head");
            assert_eq!(&out[4..4 + large.len()], &large[..]);
            assert_eq!(&out[4 + large.len()..], b"tail");
            assert_eq!(queue.remaining(), 0);
        }
    }

    #[test]
    fn an_empty_queue_reuses_a_small_buffer_and_releases_a_large_one() {
        let mut queue = TransmitQueue::default();
        queue.push_slice(&[0; 100]);
        let first = queue.chunk().as_ptr();
        queue.advance(100);
        queue.push_slice(&[1; 100]);
        assert_eq!(queue.chunk().as_ptr(), first, "the next frames reuse the buffer");
        queue.advance(100);
        queue.push_slice(&vec![0; KEEP_CAPACITY + 1]);
        queue.advance(KEEP_CAPACITY + 1);
        assert_eq!(queue.tail.capacity(), 0);
    }

    #[test]
    fn taking_a_chunk_as_bytes_shares_its_memory_and_the_queue_takes_new_frames_meanwhile() {
        let large = Bytes::from(vec![5u8; SHARE_MIN]);
        let mut queue = TransmitQueue::default();
        queue.push_slice(b"gathered");
        let gathered_at = queue.chunk().as_ptr();
        queue.push_shared(&[0x82, 126, 0x20, 0x00], &large);
        queue.push_slice(b"end");

        let gathered = queue.copy_to_bytes(queue.chunk().len());
        assert_eq!((&gathered[..], gathered.as_ptr()), (&b"gathered"[..], gathered_at), "not copied");
        let header = queue.copy_to_bytes(queue.chunk().len());
        assert_eq!(header[..], [0x82, 126, 0x20, 0x00]);
        let payload = queue.copy_to_bytes(queue.chunk().len());
        assert_eq!(payload.as_ptr(), large.as_ptr(), "the payload is the caller's memory");
        // New frames join while the taken bytes are still held (as by a write in flight).
        queue.push_slice(b"more");
        assert_eq!(queue.copy_to_bytes(queue.remaining()), &b"endmore"[..]);
        assert!(queue.is_empty());
        assert_eq!(queue.written(), (8 + 4 + SHARE_MIN + 7) as u64);
        assert_eq!(queue.end_position(), queue.written());
        assert_eq!(&gathered[..], b"gathered", "what was taken does not change");
    }

    #[test]
    fn taking_bytes_across_chunks_copies_them_in_order() {
        let large: Bytes = (0..SHARE_MIN).map(|i| i as u8).collect::<Vec<u8>>().into();
        let mut queue = TransmitQueue::default();
        queue.push_shared(b"head", &large);
        queue.push_slice(b"tail");
        let part = queue.copy_to_bytes(6);
        assert_eq!(&part[..], &[b'h', b'e', b'a', b'd', 0, 1]);
        let rest = queue.copy_to_bytes(queue.remaining());
        assert_eq!(&rest[..SHARE_MIN - 2], &large[2..]);
        assert_eq!(&rest[SHARE_MIN - 2..], b"tail");
        assert_eq!(queue.written(), (SHARE_MIN + 8) as u64);
        assert!(queue.is_empty());
    }

    #[test]
    #[should_panic(expected = "took more than the transmit queue holds")]
    fn taking_more_than_is_queued_panics() {
        let mut queue = TransmitQueue::default();
        queue.push_slice(b"ab");
        queue.copy_to_bytes(3);
    }

    /// A writer that takes at most `limit` bytes a call, counting plain and vectored calls, or
    /// refuses every call with `WouldBlock`.
    #[derive(Default)]
    struct Socket {
        data: Vec<u8>,
        limit: usize,
        plain: usize,
        vectored: usize,
        blocked: bool,
    }

    impl Socket {
        fn take(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.blocked {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let start = self.data.len();
            for buf in bufs {
                let room = self.limit - (self.data.len() - start);
                self.data.extend_from_slice(&buf[..buf.len().min(room)]);
            }
            Ok(self.data.len() - start)
        }
    }

    impl Write for Socket {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.plain += 1;
            self.take(&[IoSlice::new(buf)])
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.vectored += 1;
            self.take(bufs)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_chunk_goes_out_in_a_plain_write_and_several_in_a_vectored_one() {
        let mut queue = TransmitQueue::default();
        queue.push_slice(b"small");
        let mut socket = Socket { limit: usize::MAX, ..Socket::default() };
        assert_eq!(queue.write_to(&mut socket).unwrap(), 5);
        assert_eq!((socket.plain, socket.vectored), (1, 0));
        assert!(queue.is_empty());

        let large = Bytes::from(vec![9u8; SHARE_MIN]);
        queue.push_shared(&[0x82, 126, 0x20, 0x00], &large);
        queue.push_slice(b"tail");
        assert_eq!(queue.write_to(&mut socket).unwrap(), 4 + SHARE_MIN + 4);
        assert_eq!((socket.plain, socket.vectored), (1, 1));
        assert!(queue.is_empty());
        assert_eq!(&socket.data[5..9], [0x82, 126, 0x20, 0x00]);
        assert_eq!(&socket.data[socket.data.len() - 4..], b"tail");
    }

    #[test]
    fn a_short_write_advances_past_what_was_taken_and_a_refused_one_past_nothing() {
        let large = Bytes::from((0..SHARE_MIN).map(|i| i as u8).collect::<Vec<_>>());
        let mut queue = TransmitQueue::default();
        queue.push_shared(b"head", &large);
        let expected: Vec<u8> = b"head".iter().chain(large.iter()).copied().collect();

        let mut socket = Socket { limit: 1000, blocked: true, ..Socket::default() };
        let refused = queue.write_to(&mut socket).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(queue.remaining(), expected.len());

        socket.blocked = false;
        while !queue.is_empty() {
            assert!(queue.write_to(&mut socket).unwrap() <= 1000);
        }
        assert_eq!(socket.data, expected);
    }

    #[test]
    #[should_panic(expected = "advanced past the end")]
    fn advancing_past_the_end_panics() {
        let mut queue = TransmitQueue::default();
        queue.push_slice(b"ab");
        queue.advance(3);
    }
}
