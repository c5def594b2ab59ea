//! Echo server on `laputa-core` driven by one io_uring loop on one thread: the core under an
//! embedder's completion-based loop, which batches system calls across connections as no
//! readiness loop can. Each connection has one multishot receive armed for its life, taking
//! buffers from a ring shared by all connections (so an idle connection holds none), and at
//! most one send in flight; every answer queued while a send is out goes in the next one. One
//! `io_uring_enter` submits every send of a turn and waits for the next completions, so with
//! many connections a closed-loop echo costs a fraction of a system call, where a readiness loop
//! spends a read and a write. (That saves less than one would think: most of a closed-loop echo
//! is the kernel's TCP work, which stays; `BENCHMARKS.md`, run 9.)
//! `echo-laputa-uring [--addr HOST:PORT] [--count-allocs HOST:PORT] [--deflate] [--max-fragments N]`.
//!
//! Output is taken from the core's queue as `Bytes` (`copy_to_bytes`, which shares the core's
//! memory), so payloads are not copied on the way out; on the way in, each receive buffer is
//! copied into the core.
//!
//! Linux only (5.19 or later, for the buffer ring). The unsafe code is the io_uring contract:
//! memory handed to the kernel stays put until the kernel gives it back.

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use laputa_bench::{fail, std_listener, CountingAlloc, Phase, ServerOptions};
use laputa_core::bytes::{Buf, Bytes};
use laputa_core::handshake::{Accept, ServerHandshake};
use laputa_core::{Connection, Event, TransmitQueue};
use std::alloc::Layout;
use std::collections::VecDeque;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const RING_ENTRIES: u32 = 4096;
/// Receive buffers: a power of two, at most 32,768 (the kernel's limit for a buffer ring).
const BUFFERS: u16 = 512;
const BUFFER_LEN: usize = 64 * 1024;
const BUFFER_GROUP: u16 = 0;
/// Output waiting for the peer past which a connection stops receiving (as the adapters stop
/// reading at theirs), so that a peer that never reads its echoes costs bounded memory.
const HIGH_WATER: usize = 1 << 20;
/// Most chunks of the core's queue one send takes.
const MAX_SEND_CHUNKS: usize = TransmitQueue::MAX_WRITE_SLICES;

/// What a completion is for: the low byte of its `user_data`; the rest is the connection's slot.
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
const CANCEL: u64 = 3;

fn user_data(slot: usize, op: u64) -> u64 {
    (slot as u64) << 8 | op
}

fn main() {
    let options = ServerOptions::from_env(&[]);
    let config = options.laputa_config();
    let listener = std_listener(&options.addr);
    // A non-blocking listener would make the multishot accept end with EAGAIN whenever no
    // connection waits; blocking, the kernel waits for one instead.
    listener.set_nonblocking(false).unwrap_or_else(|e| fail(e));
    println!("echo-laputa-uring listening on {}", options.addr);
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(4 * RING_ENTRIES)
        .build(RING_ENTRIES)
        .unwrap_or_else(|e| fail(format!("io_uring: {e}")));
    let mut buffers = BufferRing::new(&ring).unwrap_or_else(|e| fail(format!("io_uring buffer ring: {e}")));
    let mut server = Server { peers: Vec::new(), free: Vec::new(), touched: Vec::new(), submissions: Vec::new() };
    server.submissions.push(opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd())).build().user_data(ACCEPT));

    let mut completions = Vec::with_capacity(4 * RING_ENTRIES as usize);
    let mut next_deadline_check = Instant::now();
    loop {
        submit(&mut ring, &mut server.submissions);
        // The benchmark uses no keepalive, so the only deadlines are handshake and close ones:
        // checking them once a second is enough here.
        let timeout = types::Timespec::from(Duration::from_secs(1));
        let args = types::SubmitArgs::new().timespec(&timeout);
        if let Err(e) = ring.submitter().submit_with_args(1, &args) {
            if !matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY)) {
                fail(format!("io_uring_enter: {e}"));
            }
        }
        completions.clear();
        completions.extend(ring.completion().map(|c| (c.user_data(), c.result(), c.flags())));
        for &(data, result, flags) in &completions {
            let slot = (data >> 8) as usize;
            match data & 0xff {
                ACCEPT => server.accept(result, flags, &listener, &config),
                RECV => server.received(slot, result, flags, &mut buffers),
                SEND => server.sent(slot, result),
                _ => {}
            }
        }
        buffers.publish();
        let now = Instant::now();
        if now >= next_deadline_check {
            next_deadline_check = now + Duration::from_secs(1);
            for slot in 0..server.peers.len() {
                let Some(peer) = server.peers[slot].as_mut() else { continue };
                if peer.phase.deadline().is_some_and(|d| d <= now) {
                    peer.phase.handle_timeout(now);
                    server.touched.push(slot);
                }
            }
        }
        for slot in std::mem::take(&mut server.touched) {
            server.flush(slot);
        }
    }
}

/// Pushes `entries` to the submission queue, submitting first whenever it is full.
fn submit(ring: &mut IoUring, entries: &mut Vec<squeue::Entry>) {
    for entry in entries.drain(..) {
        // SAFETY: every buffer an entry points at is owned by a connection (its `out`) or by
        // the buffer ring, and is neither moved nor freed until the entry's completion arrives.
        while unsafe { ring.submission().push(&entry) }.is_err() {
            if let Err(e) = ring.submit() {
                fail(format!("io_uring_enter: {e}"));
            }
        }
    }
}

struct Server {
    peers: Vec<Option<Peer>>,
    free: Vec<usize>,
    /// Connections that took input or timed out in this turn: their answers go out at its end.
    touched: Vec<usize>,
    /// Entries to submit at the end of the turn.
    submissions: Vec<squeue::Entry>,
}

impl Server {
    fn accept(&mut self, result: i32, flags: u32, listener: &std::net::TcpListener, config: &laputa_core::Config) {
        if !cqueue::more(flags) {
            self.submissions.push(opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd())).build().user_data(ACCEPT));
        }
        if result < 0 {
            return;
        }
        // SAFETY: the kernel has just given us this descriptor, which nothing else owns.
        let stream = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(result) };
        let _ = stream.set_nodelay(true);
        let fd = stream.into_raw_fd();
        let slot = self.free.pop().unwrap_or_else(|| {
            self.peers.push(None);
            self.peers.len() - 1
        });
        let handshake = ServerHandshake::new(config.clone(), Instant::now());
        self.peers[slot] = Some(Peer {
            fd,
            phase: Phase::Handshake(Box::new(handshake)),
            receiving: true,
            cancelling: false,
            paused: false,
            sending: false,
            eof: false,
            over: false,
            out: VecDeque::new(),
            iovecs: Vec::new(),
        });
        self.submissions.push(receive(fd, slot));
    }

    fn received(&mut self, slot: usize, result: i32, flags: u32, buffers: &mut BufferRing) {
        let Some(peer) = self.peers[slot].as_mut() else { return };
        if let Some(id) = cqueue::buffer_select(flags) {
            if result > 0 {
                peer.handle_input(buffers.get(id, result as usize));
            }
            buffers.give_back(id);
        }
        let more = cqueue::more(flags);
        if !more {
            peer.receiving = false;
            peer.cancelling = false;
        }
        let receive_again = match result {
            0 => {
                peer.eof = true;
                peer.handle_eof();
                false
            }
            // Out of buffers: receive again, once this turn has given its buffers back.
            r if r == -libc::ENOBUFS => !peer.over && !peer.paused,
            // Paused (or over, which the flush below takes care of).
            r if r == -libc::ECANCELED => false,
            r if r < 0 => {
                peer.over = true;
                false
            }
            _ => !peer.eof && !peer.over && !peer.paused,
        };
        if receive_again && !more {
            peer.receiving = true;
            self.submissions.push(receive(peer.fd, slot));
        }
        self.touched.push(slot);
    }

    fn sent(&mut self, slot: usize, result: i32) {
        let Some(peer) = self.peers[slot].as_mut() else { return };
        peer.sending = false;
        if result <= 0 {
            peer.over = true;
        } else {
            // Drops what went out; a short send leaves the rest for the next.
            let mut written = result as usize;
            while let Some(chunk) = peer.out.front_mut() {
                if written < chunk.len() {
                    chunk.advance(written);
                    break;
                }
                written -= chunk.len();
                peer.out.pop_front();
            }
        }
        self.touched.push(slot);
    }

    /// Sends what the connection has queued, unless a send is out; ends the connection once it
    /// is over and the kernel holds nothing of it.
    fn flush(&mut self, slot: usize) {
        let Some(peer) = self.peers[slot].as_mut() else { return };
        if !peer.sending && !peer.over {
            if peer.out.is_empty() {
                if let Phase::Open(connection) = &mut peer.phase {
                    // Taken as `Bytes` shared with the core, without a copy: they stay put
                    // while the kernel sends them, and the core takes new frames meanwhile.
                    let queue = connection.transmit(Instant::now());
                    while queue.has_remaining() && peer.out.len() < MAX_SEND_CHUNKS {
                        let len = queue.chunk().len();
                        peer.out.push_back(queue.copy_to_bytes(len));
                    }
                    if peer.out.is_empty() && connection.poll_shutdown() {
                        // SAFETY: plain system call on a descriptor this connection owns.
                        unsafe { libc::shutdown(peer.fd, libc::SHUT_WR) };
                    }
                    if peer.out.is_empty() && connection.is_finished() {
                        peer.over = true;
                    }
                }
            }
            if !peer.out.is_empty() {
                let fd = types::Fd(peer.fd);
                let send = if peer.out.len() == 1 {
                    let chunk = &peer.out[0];
                    opcode::Send::new(fd, chunk.as_ptr(), chunk.len() as u32).build()
                } else {
                    peer.iovecs.clear();
                    let iovec =
                        |chunk: &Bytes| libc::iovec { iov_base: chunk.as_ptr() as *mut _, iov_len: chunk.len() };
                    peer.iovecs.extend(peer.out.iter().map(iovec));
                    opcode::Writev::new(fd, peer.iovecs.as_ptr(), peer.iovecs.len() as u32).build()
                };
                self.submissions.push(send.user_data(user_data(slot, SEND)));
                peer.sending = true;
            }
        }
        // Backpressure: a peer that sends without reading its echoes would have them pile up
        // here. Past the high-water mark, receiving stops until half of it is written.
        if !peer.over && !peer.eof {
            let backlog = peer.backlog();
            if peer.receiving && !peer.cancelling && backlog > HIGH_WATER {
                peer.paused = true;
                peer.cancelling = true;
                self.submissions.push(cancel_receive(slot));
            } else if peer.paused && !peer.receiving && backlog <= HIGH_WATER / 2 {
                peer.paused = false;
                peer.receiving = true;
                self.submissions.push(receive(peer.fd, slot));
            }
        }
        if matches!(peer.phase, Phase::Done) {
            peer.over = true;
        }
        if !peer.over {
            return;
        }
        if peer.receiving {
            if std::mem::replace(&mut peer.cancelling, true) {
                return;
            }
            self.submissions.push(cancel_receive(slot));
            return; // The receive's last completion brings the connection back here.
        }
        if !peer.sending {
            // SAFETY: nothing in flight refers to the descriptor any more.
            unsafe { libc::close(peer.fd) };
            self.peers[slot] = None;
            self.free.push(slot);
        }
    }
}

fn receive(fd: RawFd, slot: usize) -> squeue::Entry {
    opcode::RecvMulti::new(types::Fd(fd), BUFFER_GROUP).build().user_data(user_data(slot, RECV))
}

/// Ends the connection's multishot receive: its last completion comes with `-ECANCELED`.
fn cancel_receive(slot: usize) -> squeue::Entry {
    let cancel = opcode::AsyncCancel::new(user_data(slot, RECV)).build();
    cancel.user_data(user_data(slot, CANCEL)).flags(squeue::Flags::SKIP_SUCCESS)
}

struct Peer {
    fd: RawFd,
    phase: Phase,
    /// A multishot receive is armed.
    receiving: bool,
    /// Its cancellation is submitted.
    cancelling: bool,
    /// Receiving stopped at the high-water mark, until the output drains.
    paused: bool,
    /// A send of `out` is in flight: its chunks (and `iovecs`) must not change.
    sending: bool,
    /// The peer's FIN arrived.
    eof: bool,
    /// The connection is done with: cancel, wait for the kernel, close.
    over: bool,
    /// Output taken from the core's queue, sent or to send.
    out: VecDeque<Bytes>,
    /// The iovecs of a vectored send of `out`, which the kernel reads until it completes.
    iovecs: Vec<libc::iovec>,
}

impl Peer {
    /// Output not yet written: what a send holds and what the core has queued.
    fn backlog(&self) -> usize {
        let queued = match &self.phase {
            Phase::Open(connection) => connection.pending_transmit(),
            _ => 0,
        };
        queued + self.out.iter().map(Bytes::len).sum::<usize>()
    }
    fn handle_eof(&mut self) {
        match &mut self.phase {
            Phase::Open(connection) => {
                connection.handle_eof();
                answer(connection); // The core takes the EOF in when its events are polled.
            }
            _ => self.phase = Phase::Done,
        }
    }

    /// Feeds a read to the handshake or the connection and queues an echo of every message.
    fn handle_input(&mut self, input: &[u8]) {
        let connection = match &mut self.phase {
            Phase::Open(connection) => {
                connection.handle_input(input);
                connection
            }
            Phase::Done => return,
            Phase::Handshake(handshake) => match handshake.handle_input(input) {
                Ok(None) => return,
                Ok(Some(request)) => match request.accept(Accept::default()) {
                    Ok(connection) => {
                        self.phase = Phase::Open(Box::new(connection));
                        let Phase::Open(connection) = &mut self.phase else { unreachable!() };
                        connection
                    }
                    Err(_) => return self.phase = Phase::Done,
                },
                Err(_) => return self.phase = Phase::Done,
            },
        };
        answer(connection);
    }
}

/// Queues an echo of every message the connection has read.
fn answer(connection: &mut Connection) {
    while let Some(event) = connection.poll_event() {
        if let Event::Message(message) = event {
            let _ = connection.send(message);
        }
    }
}

/// Receive buffers the kernel picks from as data arrives, shared by every connection.
struct BufferRing {
    /// The ring of buffer descriptors, page aligned, registered with the kernel.
    entries: *mut types::BufRingEntry,
    /// `BUFFERS` buffers of `BUFFER_LEN` bytes, which the kernel writes behind our back: raw
    /// memory, never borrowed except for the one buffer a completion has handed over.
    memory: *mut u8,
    /// Our copy of the ring's tail: buffers given back but not yet published count.
    tail: u16,
}

impl BufferRing {
    fn new(ring: &IoUring) -> std::io::Result<Self> {
        let ring_size = BUFFERS as usize * std::mem::size_of::<types::BufRingEntry>();
        let entries = allocate(ring_size, 4096).cast::<types::BufRingEntry>();
        let memory = allocate(BUFFERS as usize * BUFFER_LEN, 64);
        // SAFETY: the ring memory lives as long as the process (it is never freed), which
        // outlives the registration.
        unsafe { ring.submitter().register_buf_ring_with_flags(entries as u64, BUFFERS, BUFFER_GROUP, 0)? };
        let mut buffers = Self { entries, memory, tail: 0 };
        for id in 0..BUFFERS {
            buffers.give_back(id);
        }
        buffers.publish();
        Ok(buffers)
    }

    /// The first `len` bytes of buffer `id`, which the kernel has just filled and handed over.
    fn get(&self, id: u16, len: usize) -> &[u8] {
        assert!(id < BUFFERS);
        // SAFETY: buffer `id` lies inside `memory`; the kernel wrote it before completing the
        // receive that named it and does not touch it again until `give_back` returns it.
        unsafe { std::slice::from_raw_parts(self.memory.add(id as usize * BUFFER_LEN), len.min(BUFFER_LEN)) }
    }

    /// Puts buffer `id` back in the ring, for the kernel to see at the next
    /// [`publish`](Self::publish).
    fn give_back(&mut self, id: u16) {
        let index = (self.tail & (BUFFERS - 1)) as usize;
        let addr = self.memory.wrapping_add(id as usize * BUFFER_LEN) as u64;
        // SAFETY: `index` is below BUFFERS, inside the ring's allocation; the kernel reads the
        // entry only once the tail covers it, after `publish`.
        let entry = unsafe { &mut *self.entries.add(index) };
        entry.set_addr(addr);
        entry.set_len(BUFFER_LEN as u32);
        entry.set_bid(id);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the buffers given back visible to the kernel.
    fn publish(&self) {
        // SAFETY: `entries` is the ring's first entry; its tail field is a u16 the kernel reads
        // atomically, so it is written with a release store after the entries.
        let tail = unsafe { &*types::BufRingEntry::tail(self.entries).cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }
}

/// Zeroed memory that lives as long as the process (the kernel may use it until then).
fn allocate(size: usize, align: usize) -> *mut u8 {
    let layout = Layout::from_size_align(size, align).unwrap_or_else(|e| fail(e));
    // SAFETY: the layout has a non-zero size.
    let memory = unsafe { std::alloc::alloc_zeroed(layout) };
    if memory.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    memory
}
