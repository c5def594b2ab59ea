//! How much room the core lends for the next frames before their header arrives
//! (`Connection::input_room_buf`): peers tend to send frames of one size, so after a large
//! frame the next ones can be read straight into the core, header and all, instead of being
//! copied from a driver's scratch buffer.

use crate::frame::MAX_HEADER_LEN;
use crate::Connection;

/// Smallest frame whose size makes the core lend room for the next frame before its header
/// arrives. From about this size, reading one frame per read straight into the core costs less
/// than copying several from the driver's scratch buffer (measured with 16 KiB echoes against a
/// 32 KiB threshold: closed loop 1.04-1.07x to 0.99-1.00x of the best peer's CPU, and no
/// allocation; pipelined 0.75-0.85x to 0.78-0.85x).
pub(crate) const AHEAD_MIN: usize = 8 * 1024;

/// Largest frame whose size makes the core lend room ahead. Above it the part of a frame that
/// comes in before its header is known is small beside the rest (which is lent room anyway),
/// and lending megabytes to a read that may find nothing costs more than it saves (measured at
/// 1 MiB: 0.88x to 0.95x of the best peer's CPU).
pub(crate) const AHEAD_MAX: usize = 128 * 1024;

/// Most frames the room ahead grows to hold, while reads keep filling it. So at most about
/// 1 MiB (eight frames of [`AHEAD_MAX`]) is lent, and only to a read: a driver whose read would
/// block gives it back, and what a read puts there is bytes the peer sent.
pub(crate) const MAX_FRAMES_AHEAD: usize = 8;

/// The room to lend ahead of the next frame: a number of frames of the size last read.
///
/// Frames below [`Connection::LEND_MIN`] get room for one, small enough to be kept between
/// messages. From it the room starts at two frames (spare capacity costs nothing until written,
/// so one message at a time still takes one read) and doubles each time a read fills it, up to
/// [`MAX_FRAMES_AHEAD`]: a peer that keeps many frames in flight has them taken in few reads
/// (measured with 64 KiB echoes, 16 in flight, 10 to 500 connections: two frames 1.06-1.10x of
/// the best peer's CPU, growing to eight 0.76-0.95x). A read that finds less than half the
/// room halves it again, so that a connection taking one message at a time does not have its
/// messages share a large buffer, which a message kept by the application would hold alive.
#[derive(Debug)]
pub(crate) struct RoomAhead {
    /// Size of the last frame read (its payload plus the longest header), when it was within
    /// [`AHEAD_MIN`]..=[`AHEAD_MAX`]; else 0, and nothing is lent.
    frame: usize,
    /// How many such frames the room holds.
    frames: usize,
}

impl Default for RoomAhead {
    fn default() -> Self {
        Self { frame: 0, frames: 2 }
    }
}

impl RoomAhead {
    /// Remembers the size of a frame just read.
    pub(crate) fn note_frame(&mut self, len: usize) {
        self.frame = if (AHEAD_MIN..=AHEAD_MAX).contains(&len) { len + MAX_HEADER_LEN } else { 0 };
    }

    /// Whether there is room to lend once the input buffer is empty.
    #[inline]
    pub(crate) fn is_some(&self) -> bool {
        self.frame > 0
    }

    /// The room to lend (0 when there is none).
    pub(crate) fn room(&self) -> usize {
        let large = self.frame >= Connection::LEND_MIN + MAX_HEADER_LEN;
        self.frame * if large { self.frames } else { 1 }
    }

    /// `n` bytes were read into the room ahead: grows or shrinks it for the next read.
    pub(crate) fn on_read(&mut self, n: usize) {
        let room = self.room();
        if room > 0 && n == room {
            self.frames = (2 * self.frames).min(MAX_FRAMES_AHEAD);
        } else if n < room / 2 {
            self.frames = (self.frames / 2).max(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after_frame(len: usize) -> RoomAhead {
        let mut ahead = RoomAhead::default();
        ahead.note_frame(len);
        ahead
    }

    #[test]
    fn frames_outside_the_range_lend_nothing() {
        assert!(!after_frame(AHEAD_MIN - 1).is_some());
        assert!(!after_frame(AHEAD_MAX + 1).is_some());
        assert!(after_frame(AHEAD_MIN).is_some());
        assert!(after_frame(AHEAD_MAX).is_some());
    }

    #[test]
    fn below_the_lending_threshold_the_room_is_one_frame_and_never_grows() {
        let mut ahead = after_frame(16 * 1024);
        let frame = 16 * 1024 + MAX_HEADER_LEN;
        for _ in 0..3 {
            assert_eq!(ahead.room(), frame);
            ahead.on_read(frame);
        }
        assert_eq!(ahead.room(), frame);
    }

    #[test]
    fn room_doubles_while_reads_fill_it_and_halves_when_they_find_little() {
        let frame = 64 * 1024 + MAX_HEADER_LEN;
        let mut ahead = after_frame(64 * 1024);
        let mut sizes = Vec::new();
        for _ in 0..4 {
            let room = ahead.room();
            sizes.push(room / frame);
            ahead.on_read(room);
        }
        assert_eq!(sizes, [2, 4, 8, 8], "grows up to MAX_FRAMES_AHEAD");
        // Half the room or more keeps its size; less than half halves it, down to two frames.
        let room = ahead.room();
        ahead.on_read(room / 2);
        assert_eq!(ahead.room(), 8 * frame);
        for expected in [4, 2, 2] {
            ahead.on_read(frame);
            assert_eq!(ahead.room(), expected * frame);
        }
    }

    #[test]
    fn the_frames_in_the_room_follow_the_frame_size() {
        let mut ahead = after_frame(64 * 1024);
        ahead.on_read(ahead.room());
        ahead.note_frame(100 * 1024);
        assert_eq!(ahead.room(), 4 * (100 * 1024 + MAX_HEADER_LEN));
    }
}
