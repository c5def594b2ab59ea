//! Received bytes not yet consumed (at most one partial frame), and the room after them that a
//! driver may read into directly while a large frame arrives, so that its payload is not copied
//! from a read buffer into this one.

use bytes::{Buf, Bytes, BytesMut};

/// An empty buffer larger than this is released, so that an idle connection holds no large
/// buffer.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Received bytes (`filled` of them at the front of `buf`), then zeroed room: the room is
/// initialized memory, so a driver can read into it without `unsafe`, and it is zeroed once
/// per allocation, not per read.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    buf: BytesMut,
    filled: usize,
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
        &mut self.buf[self.filled..end]
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

    /// Takes `n` bytes from the front (a frame's payload) without copying.
    pub(crate) fn split_to(&mut self, n: usize) -> Bytes {
        assert!(n <= self.filled);
        self.filled -= n;
        self.buf.split_to(n).freeze()
    }

    /// Releases a large buffer once nothing is left in it.
    pub(crate) fn release_if_empty_and_large(&mut self) {
        if self.filled == 0 && self.buf.capacity() > KEEP_CAPACITY {
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
    #[should_panic(expected = "more input committed than room lent")]
    fn committing_past_the_room_panics() {
        let mut input = InputBuffer::default();
        input.room(4);
        input.commit(5);
    }
}
