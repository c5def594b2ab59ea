//! Received bytes not yet consumed (at most one partial frame), and the room after them that a
//! driver may read into directly while a large frame arrives, so that its payload is not copied
//! from a read buffer into this one.

use bytes::buf::Limit;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// An empty buffer larger than this is released, so that an idle connection holds no large
/// buffer. Up to it a buffer is kept and reused: one read of a window of small pipelined
/// messages (16 of 1 KiB) or a frame below `Connection::LEND_MIN` then costs no allocation;
/// larger frames have buffers of their own anyway.
const KEEP_CAPACITY: usize = crate::Connection::LEND_MIN;

/// Received bytes (`filled` of them at the front of `buf`), then zeroed room: the room is
/// initialized memory, so a driver can read into it without `unsafe`, and it is zeroed once
/// per allocation, not per read.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    buf: BytesMut,
    filled: usize,
    /// The buffer grew past [`KEEP_CAPACITY`]: once empty it is released, even though what is
    /// left of it looks small. Payloads split from it share its allocation, and keeping the
    /// rest would keep all of it alive after they are dropped, for as long as the connection
    /// then stays idle.
    large: bool,
}

impl InputBuffer {
    /// The bytes received and not yet consumed.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// The same, for unmasking in place.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.filled]
    }

    pub(crate) fn len(&self) -> usize {
        self.filled
    }

    /// Bytes the buffer holds room for, from the start of the data.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Appends received bytes, into the room when it is large enough.
    pub(crate) fn extend(&mut self, data: &[u8]) {
        let end = self.filled + data.len();
        if end <= self.buf.len() {
            self.buf[self.filled..end].copy_from_slice(data);
        } else {
            self.buf.truncate(self.filled);
            self.buf.extend_from_slice(data);
        }
        self.filled = end;
        self.note_growth();
    }

    /// Zeroed room for exactly `len` more bytes after the data. A new allocation comes zeroed
    /// from the allocator (`calloc`), which for large sizes costs no pass over the memory.
    pub(crate) fn room(&mut self, len: usize) -> &mut [u8] {
        let end = self.filled + len;
        if end > self.buf.len() {
            if end > self.buf.capacity() {
                let mut grown = BytesMut::zeroed(end);
                grown[..self.filled].copy_from_slice(self.data());
                self.buf = grown;
            } else {
                self.buf.resize(end, 0);
            }
        }
        self.note_growth();
        &mut self.buf[self.filled..end]
    }

    /// Room for exactly `len` more bytes after the data, as spare capacity that a reader appends
    /// to through [`BufMut`] (tokio's `read_buf` reads into it without zeroing it first).
    pub(crate) fn spare_room(&mut self, len: usize) -> Limit<&mut BytesMut> {
        self.reserve(len);
        (&mut self.buf).limit(len)
    }

    /// Makes room for `additional` more bytes than are held, in one allocation: the first read
    /// of a large frame sizes the buffer for the whole frame, so that what follows does not
    /// move what came first.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.buf.truncate(self.filled);
        self.buf.reserve(additional);
        self.note_growth();
    }

    fn note_growth(&mut self) {
        self.large |= self.buf.capacity() > KEEP_CAPACITY;
    }

    /// Counts `n` bytes read into the front of the room as received.
    pub(crate) fn commit(&mut self, n: usize) {
        assert!(self.filled + n <= self.buf.len(), "more input committed than room lent");
        self.filled += n;
    }

    /// Drops `n` bytes from the front (a frame header).
    pub(crate) fn advance(&mut self, n: usize) {
        assert!(n <= self.filled);
        self.buf.advance(n);
        self.filled -= n;
    }

    /// Takes `n` bytes from the front (a frame's payload) without copying. A payload that is
    /// all of a large buffer (one that would be released next anyway) takes the buffer whole,
    /// which spares the shared header that splitting it would allocate.
    pub(crate) fn split_to(&mut self, n: usize) -> Bytes {
        assert!(n <= self.filled);
        self.filled -= n;
        if self.filled == 0 && self.buf.len() == n && self.large {
            return std::mem::take(self).buf.freeze();
        }
        self.buf.split_to(n).freeze()
    }

    /// Releases a buffer that grew large once nothing is left in it.
    pub(crate) fn release_if_empty_and_large(&mut self) {
        if self.filled == 0 && self.large {
            *self = Self::default();
        }
    }

    /// Drops everything (input after a close or failure is discarded).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_into_the_room_join_the_data_in_order() {
        let mut input = InputBuffer::default();
        input.extend(b"he");
        let room = input.room(5);
        assert_eq!(room, [0; 5]);
        room[..3].copy_from_slice(b"llo");
        input.commit(3);
        assert_eq!(input.data(), b"hello");
        // The rest of the room is still there, and `extend` fills it first.
        input.extend(b"!!");
        assert_eq!(input.data(), b"hello!!");
        input.extend(b" more than the room");
        assert_eq!(input.data(), b"hello!! more than the room");
    }

    #[test]
    fn taking_a_payload_keeps_the_room_after_it() {
        let mut input = InputBuffer::default();
        input.extend(b"HHpayload");
        input.room(100);
        input.advance(2);
        assert_eq!(input.split_to(7), &b"payload"[..]);
        assert_eq!(input.len(), 0);
        assert_eq!(input.room(100).len(), 100);
    }

    #[test]
    fn room_grows_by_a_zeroed_allocation_keeping_the_data() {
        let mut input = InputBuffer::default();
        input.extend(&[7; 10]);
        let room = input.room(1 << 20);
        assert!(room.iter().all(|&b| b == 0));
        room[0] = 8;
        input.commit(1);
        assert_eq!(&input.data()[9..], [7, 8]);
        // Room that fits the capacity is resized in place.
        input.room(16);
        assert_eq!(input.data().len(), 11);
    }

    #[test]
    fn a_large_buffer_is_released_only_when_empty() {
        let mut input = InputBuffer::default();
        input.extend(&[1; 64 * 1024]);
        input.release_if_empty_and_large();
        assert_eq!(input.len(), 64 * 1024, "data is never dropped");
        input.split_to(64 * 1024);
        input.release_if_empty_and_large();
        assert_eq!(input.buf.capacity(), 0);
    }

    #[test]
    fn spare_room_is_appended_to_and_keeps_the_data() {
        let mut input = InputBuffer::default();
        input.extend(b"he");
        input.room(8); // zeroed room first, dropped by the spare room
        let mut spare = input.spare_room(5);
        assert_eq!(spare.remaining_mut(), 5);
        spare.put_slice(b"llo");
        input.commit(3);
        assert_eq!(input.data(), b"hello");
        assert!(input.buf.capacity() >= 7);
    }

    #[test]
    fn a_reserved_buffer_takes_the_rest_without_moving() {
        let mut input = InputBuffer::default();
        input.reserve(100);
        input.extend(&[1; 40]);
        let before = input.data().as_ptr();
        input.spare_room(60).put_slice(&[2; 60]);
        input.commit(60);
        assert_eq!(input.data().as_ptr(), before, "no reallocation");
        assert_eq!(input.len(), 100);
    }

    #[test]
    fn a_payload_filling_a_large_buffer_takes_it_whole() {
        let mut input = InputBuffer::default();
        let size = KEEP_CAPACITY + 1;
        input.extend(&[0; 4]);
        input.spare_room(size).put_bytes(9, size);
        input.commit(size);
        input.advance(4);
        let ptr = input.data().as_ptr();
        let payload = input.split_to(size);
        assert_eq!(payload.as_ptr(), ptr, "no copy");
        assert_eq!(payload.len(), size);
        assert_eq!(input.buf.capacity(), 0, "nothing of it is kept");
        // A small buffer is split instead, and kept for the next frames.
        input.extend(b"abcd");
        assert_eq!(input.split_to(2), &b"ab"[..]);
        assert_eq!(input.data(), b"cd");
    }

    #[test]
    #[should_panic(expected = "more input committed than room lent")]
    fn committing_past_the_room_panics() {
        let mut input = InputBuffer::default();
        input.room(4);
        input.commit(5);
    }
}
