//! Hostile peers against `laputa::blocking` over real loopback sockets: the server side is the
//! adapter, the peer a raw `TcpStream` that misbehaves. Every wait is bounded by a short
//! `Config` timeout or by a watchdog read timeout on the raw peer; nothing asserts on time.

use laputa::blocking::{self, Stream, WebSocket};
use laputa::{Accept, CloseCode, Closed, Error, Event, HandshakeError};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod raw_peer;
#[path = "../../core/src/test_log.rs"]
mod test_log;

use raw_peer::{abnormal, client_frame, config, read_to_eof, reset, upgrade, REQUEST, WATCHDOG};

/// A listener on a free port, a thread running `serve` on its first connection, and a raw peer
/// connected to it.
fn setup<T: Send + 'static>(serve: impl FnOnce(TcpStream) -> T + Send + 'static) -> (TcpStream, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    peer.set_read_timeout(Some(WATCHDOG)).unwrap();
    let handle = thread::spawn(move || serve(listener.accept().unwrap().0));
    (peer, handle)
}

/// How a server connection ended, as its application saw it through `read_event`.
#[derive(Debug)]
struct Ending {
    /// The `Event::Closed` events seen.
    closed_events: Vec<Closed>,
    /// What `read_event` returned last: `Error::Closed`.
    last: Closed,
    /// I/O errors returned before the end (a reset).
    io_errors: Vec<ErrorKind>,
    messages: usize,
}

/// Reads events until the connection is over.
fn read_to_end<S: Stream>(ws: &mut WebSocket<S>) -> Ending {
    let mut ending = Ending { closed_events: Vec::new(), last: abnormal(), io_errors: Vec::new(), messages: 0 };
    for _ in 0..1000 {
        match ws.read_event() {
            Ok(Event::Closed(closed)) => ending.closed_events.push(closed),
            Ok(Event::Message(_)) => ending.messages += 1,
            Ok(_) => {}
            Err(Error::Closed(closed)) => {
                ending.last = closed;
                return ending;
            }
            Err(Error::Io(e)) => ending.io_errors.push(e.kind()),
            Err(e) => panic!("{e}"),
        }
    }
    panic!("never ended: {ending:?}");
}

fn accept(stream: TcpStream) -> WebSocket<TcpStream> {
    blocking::accept_with(stream, config(), |_| Ok(Accept::new())).unwrap()
}

#[test]
fn a_peer_ignoring_our_close_is_disconnected_at_the_close_timeout_with_1006() {
    let (mut peer, server) = setup(|stream| {
        let mut ws = accept(stream);
        ws.send_close(CloseCode::NORMAL, "bye").unwrap();
        read_to_end(&mut ws)
    });
    upgrade(&mut peer, REQUEST);
    // The peer never answers; it sees our close frame, then the end of the connection.
    assert_eq!(read_to_eof(&mut peer).unwrap(), [0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']);
    let ending = server.join().unwrap();
    assert_eq!(ending.closed_events, [abnormal()]);
    assert_eq!(ending.last, abnormal());
    assert!(ending.io_errors.is_empty(), "{ending:?}");
}

#[test]
fn a_peer_that_closes_but_never_sends_fin_is_disconnected_at_the_close_timeout() {
    let (mut peer, server) = setup(|stream| {
        let mut ws = accept(stream);
        read_to_end(&mut ws)
    });
    upgrade(&mut peer, REQUEST);
    peer.write_all(&client_frame(0x88, &[0x03, 0xe8])).unwrap();
    // The server echoes, shuts down its side, waits for our FIN that never comes, and closes.
    assert_eq!(read_to_eof(&mut peer).unwrap(), [0x88, 0x02, 0x03, 0xe8]);
    let ending = server.join().unwrap();
    let clean = Closed::new(CloseCode::NORMAL, "", true);
    assert_eq!(ending.closed_events, std::slice::from_ref(&clean));
    assert_eq!(ending.last, clean);
}

#[test]
fn a_reset_mid_handshake_fails_the_accept() {
    for hard in [true, false] {
        let (mut peer, server) =
            setup(|stream| blocking::accept_with(stream, config(), |_| Ok(Accept::new())).map(drop));
        peer.write_all(&REQUEST[..40]).unwrap();
        if hard {
            reset(peer);
        } else {
            drop(peer);
        }
        match server.join().unwrap() {
            Err(Error::Io(e)) => {
                let expected = if hard { ErrorKind::ConnectionReset } else { ErrorKind::UnexpectedEof };
                assert_eq!(e.kind(), expected, "hard reset: {hard}");
            }
            other => panic!("hard reset {hard}: {other:?}"),
        }
    }
}

#[test]
fn a_reset_mid_frame_ends_the_connection_once_with_1006() {
    for hard in [true, false] {
        let (mut peer, server) = setup(|stream| {
            let mut ws = accept(stream);
            let mut ending = None;
            let logs = test_log::logs_of(|| ending = Some(read_to_end(&mut ws)));
            (ending.unwrap(), logs)
        });
        upgrade(&mut peer, REQUEST);
        // A text frame announcing 10 bytes, 3 of them sent.
        let frame = client_frame(0x81, b"0123456789");
        peer.write_all(&frame[..9]).unwrap();
        if hard {
            reset(peer);
        } else {
            drop(peer);
        }
        let (ending, logs) = server.join().unwrap();
        let eof = Closed::new(CloseCode::ABNORMAL, "", false).with_error(laputa::ProtocolError::UnexpectedEof);
        assert_eq!(ending.closed_events, std::slice::from_ref(&eof), "hard reset: {hard}");
        assert_eq!(ending.last, eof);
        assert_eq!(ending.messages, 0);
        // A reset is reported once as an I/O error before the end; a FIN is not an error.
        let expected: &[ErrorKind] = if hard { &[ErrorKind::ConnectionReset] } else { &[] };
        assert_eq!(ending.io_errors, expected, "hard reset: {hard}");
        assert_eq!(logs.contains("socket failed: the connection ends"), hard, "{logs}");
        assert!(logs.contains("connection closed code=1006"), "{logs}");
    }
}

/// A write that fails (the peer reset the connection before an answer went out) ends the
/// connection as a failed read does: one I/O error, then the abnormal end, not the same error
/// again on every call. The server writes only once the reset has arrived, so that the error
/// can only come from the write (nothing reads before it).
#[test]
fn a_reset_seen_while_writing_ends_the_connection_once_with_1006() {
    let (mut peer, server) = setup(|stream| {
        // A second handle on the socket, to wait for the reset without reading through `ws`:
        // a peek blocks until it arrives and reports it (taking the pending error, so the write
        // then fails with EPIPE rather than ECONNRESET).
        let watch = stream.try_clone().unwrap();
        watch.set_read_timeout(Some(WATCHDOG)).unwrap();
        let mut ws = accept(stream);
        let seen = watch.peek(&mut [0; 1]).map_err(|e| e.kind());
        let sent = ws.send("late answer");
        let ending = read_to_end(&mut ws);
        let later = ws.send("later answer");
        (seen, sent, ending, later, ws.closed().cloned())
    });
    upgrade(&mut peer, REQUEST);
    reset(peer);
    let (seen, sent, ending, later, closed) = server.join().unwrap();
    assert_eq!(seen, Err(ErrorKind::ConnectionReset), "the reset arrived before the write");
    let kind = match sent {
        Err(Error::Io(e)) => e.kind(),
        other => panic!("the write after the reset returned {other:?}"),
    };
    assert!(matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{kind:?}");
    // Then the abnormal end, once, with no second I/O error; and it stays ended.
    assert_eq!((ending.io_errors.len(), ending.messages), (0, 0), "{ending:?}");
    assert_eq!(ending.closed_events, std::slice::from_ref(&ending.last));
    assert_eq!((ending.last.code, ending.last.clean), (CloseCode::ABNORMAL, false), "{ending:?}");
    assert!(later.as_ref().is_err_and(Error::is_closed), "{later:?}");
    assert_eq!(closed.map(|closed| closed.code), Some(CloseCode::ABNORMAL));
}

#[test]
fn a_slowloris_handshake_is_dropped_at_the_handshake_timeout() {
    let (mut peer, server) = setup(|stream| blocking::accept_with(stream, config(), |_| Ok(Accept::new())).map(drop));
    peer.write_all(b"GET / HTTP/1.1\r\nX-Slow: ").unwrap();
    // One byte every 20 ms until the server drops us; bounded by the watchdog.
    let trickler = thread::spawn(move || {
        for sent in 0..WATCHDOG.as_millis() / 20 {
            thread::sleep(Duration::from_millis(20));
            if let Err(e) = peer.write_all(b"a") {
                return Ok((sent, e.kind()));
            }
        }
        Err("never dropped")
    });
    match server.join().unwrap() {
        Err(e) => assert_eq!(e.handshake_error(), Some(&HandshakeError::Timeout), "{e}"),
        Ok(()) => panic!("accepted"),
    }
    let (_, kind) = trickler.join().unwrap().unwrap();
    assert!(matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{kind:?}");
}

/// A `TcpStream` that records the largest single write: the most output the adapter held at once.
struct Counted {
    inner: TcpStream,
    largest_write: Arc<AtomicUsize>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.largest_write.fetch_max(buf.len(), Ordering::Relaxed);
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Stream for Counted {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Write)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.read_timeout()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }
}

#[test]
fn a_hundred_thousand_pings_from_a_peer_that_never_reads_keep_the_output_bounded() {
    let largest_write = Arc::new(AtomicUsize::new(0));
    let largest = largest_write.clone();
    let (mut peer, server) = setup(move |stream| {
        // A watchdog for the server's writes too: a peer that never reads could block them.
        stream.set_write_timeout(Some(WATCHDOG)).unwrap();
        let mut ws =
            blocking::accept_with(Counted { inner: stream, largest_write: largest }, config(), |_| Ok(Accept::new()))
                .unwrap();
        ws.get_ref().largest_write.store(0, Ordering::Relaxed); // forget the 101 response
        let ending = read_to_end(&mut ws);
        (ending, ws.connection().pending_transmit())
    });
    peer.write_all(REQUEST).unwrap();
    // Never read: not the 101, not the pongs.
    let ping = client_frame(0x89, b"");
    let pings: Vec<u8> = ping.repeat(100_000);
    peer.write_all(&pings).unwrap();
    peer.write_all(&client_frame(0x88, &[0x03, 0xe8])).unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    let (ending, pending) = server.join().unwrap();
    assert!(ending.last.clean && ending.last.code == CloseCode::NORMAL, "{ending:?}");
    assert!(ending.io_errors.is_empty(), "{ending:?}");
    assert_eq!(pending, 0);
    // Each read of up to 32 KiB holds thousands of pings, yet at most 17 pongs (2 bytes each:
    // 16 queued unwritten and the one pending) and the close echo (4 bytes) were ever written
    // at once.
    let largest = largest_write.load(Ordering::Relaxed);
    assert!(largest <= 17 * 2 + 4, "{largest} bytes written at once");
    drop(peer);
}
