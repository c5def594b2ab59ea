//! The drive loop of `ARCHITECTURE.md`, written once for every runtime: the socket side
//! ([`Io`]: reads through a per-thread scratch buffer, and the unwritten output) and the
//! connection side ([`Driver`]: the core, its one timer and the close bookkeeping). Everything here is `poll`-based and holds
//! no lock across a suspension, so the two halves of a split connection can share it behind a
//! mutex.

use super::{Runtime, RuntimeIo};
use crate::Error;
use laputa_core::bytes::Buf;
use laputa_core::handshake::Handshake;
use laputa_core::{CloseCode, Closed, Connection, Event, State, TransmitQueue};
use std::future::Future;
use std::io::{self, IoSlice};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// Size of the scratch buffer each read goes into.
const READ_CHUNK: usize = 128 * 1024;

/// Events returned and reads taken in one turn of the receiving side before it yields to the
/// runtime (tokio's cooperative budget is 128 too). A peer that keeps the socket full would
/// otherwise keep the task running for as long as it sends (smol and async-std have no such
/// budget, tokio's counts only reads and is switched off by `unconstrained`), and every other
/// connection on the thread would wait. Measured on pipelined 64 KiB echoes at 10 and 100
/// connections (tokio, `unconstrained`): with no yield the least-served connection got
/// 0.07-0.41 of the mean number of echoes; with 128 steps 0.24-0.72, for 8-13% more CPU per
/// message (64 steps: 0.43-0.86; 256 steps: 0.15-0.59). Small messages: no change.
const STEPS_PER_TURN: u32 = 128;

/// Most chunks of output handed to one vectored write.
const MAX_WRITE_SLICES: usize = TransmitQueue::MAX_WRITE_SLICES;

thread_local! {
    /// The read buffer of every connection polled on this thread (see `Io::poll_read`).
    static SCRATCH: std::cell::Cell<Box<[u8]>> = std::cell::Cell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// Who is polling: the receiving side or the sending side. Each has its own waker slot for
/// write readiness, since both may wait for the socket to accept bytes (the receiving side to
/// send pongs and the close echo, the sending side its messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Reader = 0,
    Writer = 1,
}

impl Slot {
    fn other(self) -> Self {
        match self {
            Slot::Reader => Slot::Writer,
            Slot::Writer => Slot::Reader,
        }
    }
}

/// Fans one write-readiness wakeup of the stream (which keeps a single waker) out to both
/// sides.
#[derive(Debug, Default)]
struct WriteWaiters {
    slots: Mutex<[Option<Waker>; 2]>,
    /// Whether each slot may hold a waker: lets a write that went through skip the lock when
    /// the other side does not wait (the usual case). Set only by `register`, which like
    /// `wake_slot` runs under the driver's lock; a stale `true` (the stream's wakeup took the
    /// waker) costs one needless lock.
    registered: [AtomicBool; 2],
}

impl WriteWaiters {
    fn register(&self, slot: Slot, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = &mut slots[slot as usize];
        if !entry.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *entry = Some(waker.clone());
        }
        self.registered[slot as usize].store(true, Ordering::Release);
    }

    /// Wakes `slot`, if it waits.
    fn wake_slot(&self, slot: Slot) {
        if !self.registered[slot as usize].swap(false, Ordering::Acquire) {
            return;
        }
        let waker = self.slots.lock().unwrap_or_else(PoisonError::into_inner)[slot as usize].take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for WriteWaiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *self.slots.lock().unwrap_or_else(PoisonError::into_inner));
        wakers.into_iter().flatten().for_each(Waker::wake);
    }
}

/// The socket side of the drive loop: the stream, the wakers of whoever waits to write, and the
/// handshake's output. Reads go through the thread's scratch buffer; after the handshake the
/// output is written straight from the core's [`TransmitQueue`](laputa_core::TransmitQueue).
pub(crate) struct Io<S, R> {
    pub(crate) stream: S,
    /// Output of the handshake phase; `written` bytes of it are already out.
    handshake_out: Vec<u8>,
    written: usize,
    /// Bytes were written and not yet flushed.
    unflushed: bool,
    waiters: Arc<WriteWaiters>,
    /// Wakes both sides; given to the stream when writing.
    write_waker: Waker,
    runtime: PhantomData<fn() -> R>,
}

impl<S, R> std::fmt::Debug for Io<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io").field("unflushed", &self.unflushed).finish_non_exhaustive()
    }
}

impl<S, R: RuntimeIo<S>> Io<S, R> {
    pub(crate) fn new(stream: S) -> Self {
        let waiters = Arc::new(WriteWaiters::default());
        Self {
            stream,
            handshake_out: Vec::new(),
            written: 0,
            unflushed: false,
            write_waker: Waker::from(waiters.clone()),
            waiters,
            runtime: PhantomData,
        }
    }

    /// Writes all of `out` and flushes. `Ready(Ok)` once everything is out; `Pending` (with
    /// `slot`'s waker registered) when the stream takes no more for now. Returns at once, with
    /// no waker touched, when there is nothing to do: the common case on the receiving side.
    pub(crate) fn poll_write_buf(
        &mut self,
        cx: &mut Context<'_>,
        slot: Slot,
        out: &mut impl Buf,
    ) -> Poll<io::Result<()>> {
        if !out.has_remaining() && !self.unflushed {
            return Poll::Ready(Ok(()));
        }
        let mut write_cx = Context::from_waker(&self.write_waker);
        let mut progressed = false;
        let mut registered = false;
        let result = loop {
            // `Some(n)`: `n` bytes written; `None`: everything written and flushed.
            let polled = if !out.has_remaining() {
                R::poll_flush(&mut self.stream, &mut write_cx).map_ok(|()| None)
            } else {
                // One chunk (the usual case: small frames are gathered) goes out in a plain write.
                let chunk = out.chunk();
                let written = if chunk.len() == out.remaining() || !R::is_write_vectored(&self.stream) {
                    R::poll_write(&mut self.stream, &mut write_cx, chunk)
                } else {
                    let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
                    let count = out.chunks_vectored(&mut slices);
                    R::poll_write_vectored(&mut self.stream, &mut write_cx, &slices[..count])
                };
                written.map_ok(Some)
            };
            match polled {
                // The waker is registered only once the stream refuses (so that a write that
                // goes through takes no lock), then the stream is tried once more: readiness
                // that arrived before the registration is not missed.
                Poll::Pending if !registered => {
                    self.waiters.register(slot, cx.waker());
                    registered = true;
                }
                Poll::Pending => break Poll::Pending,
                Poll::Ready(Ok(None)) => {
                    self.unflushed = false;
                    break Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(Some(0))) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(Some(n))) => {
                    progressed = true;
                    self.unflushed = true;
                    out.advance(n);
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
            }
        };
        if progressed {
            // Bytes the other side waited to get out may have left.
            self.waiters.wake_slot(slot.other());
        }
        result
    }

    /// The output of the handshake phase, to append to.
    pub(crate) fn output(&mut self) -> &mut Vec<u8> {
        &mut self.handshake_out
    }

    /// The stream, once a connect moves on to TLS over it (nothing is left unwritten then: the
    /// flow speaks first only after TLS).
    pub(crate) fn into_stream(self) -> S {
        self.stream
    }

    /// The stream (to set socket options once a server knows the service).
    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }

    /// Writes the handshake phase's output.
    pub(crate) fn poll_write_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let out = std::mem::take(&mut self.handshake_out);
        let mut rest = &out[self.written..];
        let result = self.poll_write_buf(cx, Slot::Reader, &mut rest);
        self.written = out.len() - rest.len();
        self.handshake_out = out;
        if self.written == self.handshake_out.len() {
            self.handshake_out.clear();
            self.written = 0;
        }
        result
    }

    /// Shuts down the write side (TCP FIN); a peer already gone is not an error.
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>, slot: Slot) -> Poll<io::Result<()>> {
        self.waiters.register(slot, cx.waker());
        let mut write_cx = Context::from_waker(&self.write_waker);
        match R::poll_shutdown(&mut self.stream, &mut write_cx) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => other,
        }
    }

    /// One read into the thread's scratch buffer (retrying on `Interrupted`), whose bytes go
    /// straight to `consume`; `None` at EOF. The buffer is shared by every connection polled on
    /// the thread, so an idle connection holds no read buffer at all.
    ///
    /// The buffer is taken out of its slot for the read: the stream's own `poll_read` may poll
    /// another connection on this thread (a WebSocket carried inside WebSocket messages), which
    /// then finds the slot empty and reads into a buffer of its own.
    pub(crate) fn poll_read<T>(
        &mut self,
        cx: &mut Context<'_>,
        consume: impl FnOnce(&[u8]) -> T,
    ) -> Poll<io::Result<Option<T>>> {
        let mut scratch = SCRATCH.take();
        if scratch.is_empty() {
            scratch = vec![0; READ_CHUNK].into_boxed_slice();
        }
        let read = loop {
            match R::poll_read(&mut self.stream, cx, &mut scratch) {
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Ok(0)) => break Poll::Ready(Ok(None)),
                Poll::Ready(Ok(n)) => break Poll::Ready(Ok(Some(consume(&scratch[..n])))),
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        SCRATCH.set(scratch);
        read
    }

    /// One read into room the core lent, by `read` (into zeroed room or spare capacity),
    /// retrying on `Interrupted`: the number of bytes, `None` at EOF.
    fn poll_read_lent(
        &mut self,
        cx: &mut Context<'_>,
        mut read: impl FnMut(&mut S, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<Option<usize>>> {
        loop {
            match read(&mut self.stream, cx) {
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(None)),
                Poll::Ready(result) => return Poll::Ready(result.map(Some)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Drives either side of the opening handshake until it completes, fails, or its deadline
    /// passes.
    pub(crate) async fn handshake<H: Handshake>(&mut self, handshake: &mut H) -> Result<H::Output, Error> {
        let mut timer = Timer::<R>::default();
        handshake.poll_transmit(&mut self.handshake_out);
        std::future::poll_fn(|cx| loop {
            if let Some(deadline) = handshake.poll_timeout() {
                let now = Instant::now();
                if now >= deadline || timer.poll(cx, deadline).is_ready() {
                    handshake.handle_timeout(now.max(deadline))?;
                }
            }
            if let Poll::Ready(Err(e)) = self.poll_write_handshake(cx) {
                return Poll::Ready(Err(e.into()));
            }
            match self.poll_read(cx, |input| handshake.handle_input(input)) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(None)) => return Poll::Ready(Err(io::Error::from(io::ErrorKind::UnexpectedEof).into())),
                Poll::Ready(Ok(Some(result))) => {
                    if let Some(done) = result? {
                        return Poll::Ready(Ok(done));
                    }
                    handshake.poll_transmit(&mut self.handshake_out);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            }
        })
        .await
    }

    /// Writes `bytes` (an HTTP error response) and shuts down the write side, giving up at
    /// `deadline` (none: a timeout too large to represent). Best effort: the connection is being
    /// refused anyway.
    pub(crate) async fn write_and_shut(&mut self, bytes: Vec<u8>, deadline: Option<Instant>) {
        self.handshake_out = bytes;
        self.written = 0;
        let mut timer = Timer::<R>::default();
        std::future::poll_fn(|cx| {
            if deadline.is_some_and(|deadline| timer.poll(cx, deadline).is_ready()) {
                return Poll::Ready(());
            }
            match self.poll_write_handshake(cx) {
                Poll::Ready(Ok(())) => self.poll_shutdown(cx, Slot::Reader).map(drop),
                Poll::Ready(Err(_)) => Poll::Ready(()),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

/// The one timer of a connection, armed lazily (some runtimes create timers only inside their
/// context) and reset when the core's deadline moves.
pub(crate) struct Timer<R: Runtime> {
    sleep: Option<Pin<Box<R::Sleep>>>,
    armed: Option<Instant>,
}

impl<R: Runtime> Default for Timer<R> {
    fn default() -> Self {
        Self { sleep: None, armed: None }
    }
}

impl<R: Runtime> Timer<R> {
    /// Polls a sleep until `deadline`, re-arming it if the deadline changed.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        if self.armed != Some(deadline) {
            match &mut self.sleep {
                Some(sleep) => R::reset_sleep(sleep.as_mut(), deadline),
                None => self.sleep = Some(Box::pin(R::sleep_until(deadline))),
            }
            self.armed = Some(deadline);
        }
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx).map(drop),
            None => Poll::Pending,
        }
    }
}

/// Where the TCP write side stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    NotYet,
    /// The core asked for it; it happens once the buffered output is written.
    Due,
    Done,
}

/// A connection being driven: the core plus its socket, timer and bookkeeping.
pub(crate) struct Driver<S, R: Runtime> {
    pub(crate) io: Io<S, R>,
    pub(crate) connection: Connection,
    timer: Timer<R>,
    shutdown: Shutdown,
    /// How the connection ended, once the core said so.
    pub(crate) closed: Option<Closed>,
    /// The socket failed: no more I/O is attempted.
    broken: bool,
    /// The message stream has ended (for `Stream`).
    pub(crate) stream_ended: bool,
    /// The task waiting to receive, woken when the sending side moves the core's deadline or
    /// breaks the connection.
    reader: Option<Waker>,
    /// Sending waits while more than this many bytes are buffered.
    pub(crate) high_water: usize,
    /// Steps of the receiving side since it last waited or yielded (see [`STEPS_PER_TURN`]).
    turn: u32,
}

impl<S, R: Runtime> std::fmt::Debug for Driver<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("connection", &self.connection)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<S, R: RuntimeIo<S>> Driver<S, R> {
    pub(crate) fn new(io: Io<S, R>, connection: Connection) -> Self {
        Self {
            io,
            connection,
            timer: Timer::default(),
            shutdown: Shutdown::NotYet,
            closed: None,
            broken: false,
            stream_ended: false,
            reader: None,
            high_water: crate::DEFAULT_HIGH_WATER_MARK,
            turn: 0,
        }
    }

    /// Bytes waiting to go out.
    pub(crate) fn buffered(&self) -> usize {
        self.connection.pending_transmit()
    }

    /// The socket failed: the connection ends as abnormal closure and no more I/O happens.
    fn break_io(&mut self, error: io::Error) -> Error {
        tracing::debug!(%error, "socket failed: the connection ends");
        self.broken = true;
        self.connection.transmit(Instant::now()).clear();
        self.connection.handle_eof();
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
        self.io.waiters.wake_slot(Slot::Writer);
        error.into()
    }

    /// Steps 3 and 4 of the drive loop: write what the core has queued, and shut down the
    /// write side when the core asks and everything is out. Reads no clock and touches no
    /// waker when there is nothing to write.
    pub(crate) fn poll_output(&mut self, cx: &mut Context<'_>, slot: Slot) -> Poll<Result<(), Error>> {
        if self.broken {
            return Poll::Ready(Ok(()));
        }
        // Writing everything can let answers to pings that waited join the queue: go again.
        while self.connection.wants_transmit() || self.io.unflushed {
            let queue = self.connection.transmit(Instant::now());
            if let Err(e) = std::task::ready!(self.io.poll_write_buf(cx, slot, queue)) {
                return Poll::Ready(Err(self.break_io(e)));
            }
        }
        if self.connection.poll_shutdown() {
            self.shutdown = Shutdown::Due;
        }
        if self.shutdown == Shutdown::Due {
            if let Err(e) = std::task::ready!(self.io.poll_shutdown(cx, slot)) {
                return Poll::Ready(Err(self.break_io(e)));
            }
            self.shutdown = Shutdown::Done;
        }
        Poll::Ready(Ok(()))
    }

    /// The receiving side of the drive loop: the next event, reading, writing and honouring the
    /// core's deadline as needed. After [`Event::Closed`], returns [`Error::Closed`] once the
    /// connection is finished.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event, Error>> {
        loop {
            if self.turn >= STEPS_PER_TURN {
                // Yield, with the answers so far written, and go on at the next poll.
                self.turn = 0;
                if let Poll::Ready(Err(e)) = self.poll_output(cx, Slot::Reader) {
                    return Poll::Ready(Err(e));
                }
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Step 2: events first; frames are parsed as events are polled.
            if let Some(event) = self.connection.poll_event() {
                self.turn += 1;
                if let Event::Closed(closed) = &event {
                    self.closed = Some(closed.clone());
                }
                return Poll::Ready(Ok(event));
            }
            // Steps 3 and 4. Output that cannot be written yet does not stop reading: the core
            // bounds what reading adds to it (pongs are coalesced, one close frame).
            if let Poll::Ready(Err(e)) = self.poll_output(cx, Slot::Reader) {
                return Poll::Ready(Err(e));
            }
            // Step 5. Output still stuck at this point is given up: the peer is gone or the
            // close deadline passed.
            if self.connection.is_finished() {
                // A sending side still waiting to write gives up too.
                self.io.waiters.wake_slot(Slot::Writer);
                return Poll::Ready(Err(Error::Closed(self.closed.clone().unwrap_or_else(abnormal))));
            }
            // Step 1: the deadline, then the socket.
            let deadline = self.connection.poll_timeout();
            if let Some(deadline) = deadline.filter(|&d| Instant::now() >= d) {
                self.connection.handle_timeout(Instant::now().max(deadline));
                continue;
            }
            let connection = &mut self.connection;
            // A large frame is arriving: read straight into the core's buffer (its spare
            // capacity where the runtime reads into memory never initialized, else zeroed room).
            let lent = if R::READS_SPARE {
                let read = connection
                    .input_room_buf()
                    .map(|mut room| self.io.poll_read_lent(cx, |stream, cx| R::poll_read_spare(stream, cx, &mut room)));
                if read.as_ref().is_some_and(Poll::is_pending) {
                    // Nothing yet: room lent ahead of a frame is not held while waiting.
                    connection.release_input_room();
                }
                read
            } else {
                connection
                    .input_room()
                    .map(|room| self.io.poll_read_lent(cx, |stream, cx| R::poll_read(stream, cx, room)))
            };
            let read = match lent {
                Some(read) => read.map_ok(|n| n.map(|n| connection.handle_input_read(n))),
                None => self.io.poll_read(cx, |input| connection.handle_input(input)),
            };
            match read {
                Poll::Ready(Ok(None)) => {
                    self.connection.handle_eof();
                    continue;
                }
                Poll::Ready(Ok(Some(()))) => {
                    self.turn += 1;
                    continue;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.break_io(e))),
                Poll::Pending => {}
            }
            if let Some(deadline) = deadline {
                if self.timer.poll(cx, deadline).is_ready() {
                    self.connection.handle_timeout(Instant::now().max(deadline));
                    continue;
                }
            }
            if !self.reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                self.reader = Some(cx.waker().clone());
            }
            self.turn = 0;
            return Poll::Pending;
        }
    }

    /// After a command from the sending side: wakes the receiving side if the core's deadline
    /// moved (a close frame left, starting the close timeout), so that it re-arms its timer.
    pub(crate) fn after_command(&mut self) {
        if self.connection.poll_timeout() != self.timer.armed {
            if let Some(reader) = self.reader.take() {
                reader.wake();
            }
        }
    }

    /// The sending side waits for the socket: the core's deadline still runs, so that a peer
    /// that stops reading is let go at the write-stall deadline (and a close at the close
    /// timeout) even when nobody receives. True when a deadline was handled; the receiving
    /// side, whose wakeup the timer may no longer hold, is woken to look.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.connection.poll_timeout() else { return false };
        if Instant::now() < deadline && self.timer.poll(cx, deadline).is_pending() {
            return false;
        }
        self.connection.handle_timeout(Instant::now().max(deadline));
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
        true
    }

    /// The error of a call on a connection that is over.
    fn closed_error(&self) -> Error {
        Error::Closed(self.closed.clone().unwrap_or_else(abnormal))
    }

    /// Waits until the buffered output is at most the high-water mark, writing meanwhile.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if self.broken || self.connection.is_finished() {
                return Poll::Ready(Err(self.closed_error()));
            }
            // Below the high-water mark nothing is written here, so that what is queued while
            // handling one read goes out together at the next flush (corking); nor can the
            // core's deadline have moved.
            if self.buffered() <= self.high_water {
                return Poll::Ready(Ok(()));
            }
            let result = match self.poll_output(cx, Slot::Writer) {
                Poll::Pending if self.buffered() <= self.high_water => Poll::Ready(Ok(())),
                Poll::Pending if self.poll_deadline(cx) => continue,
                other => other,
            };
            self.after_command();
            return result;
        }
    }

    /// Writes everything buffered (and shuts down when due), honouring the core's deadline
    /// meanwhile. Output still stuck once the connection is finished (the close timeout or the
    /// write-stall deadline passed) is given up.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            let result = match self.poll_output(cx, Slot::Writer) {
                Poll::Pending if self.connection.is_finished() => Poll::Ready(Err(self.closed_error())),
                Poll::Pending if self.poll_deadline(cx) => continue,
                other => other,
            };
            self.after_command();
            return result;
        }
    }

    /// Starts the close handshake with 1000 unless it already started, and flushes. As the
    /// inherent `close` does, it ends well once the connection is over, however it ended (the
    /// close timeout included): only a failed socket is an error.
    pub(crate) fn poll_close_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.connection.state() == State::Open {
            self.connection.close(CloseCode::NORMAL, "")?;
        }
        match std::task::ready!(self.poll_flush(cx)) {
            Err(Error::Closed(_)) => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }

    /// The next message for `Stream`: `None` after a clean close, the error once otherwise.
    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<laputa_core::Message, Error>>> {
        if self.stream_ended {
            return Poll::Ready(None);
        }
        loop {
            match std::task::ready!(self.poll_event(cx)) {
                Ok(Event::Message(message)) => return Poll::Ready(Some(Ok(message))),
                Ok(_) => {}
                Err(Error::Closed(closed)) if closed.clean => {
                    self.stream_ended = true;
                    return Poll::Ready(None);
                }
                Err(e) => {
                    self.stream_ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

/// How a connection that ended without a `Closed` event (a broken socket) is reported.
pub(crate) fn abnormal() -> Closed {
    Closed::new(CloseCode::ABNORMAL, "", false)
}
