//! The blocking adapter over real loopback sockets: timeouts honoured with nothing lost,
//! application rejections, and the close handshake from either side.

use laputa::blocking::Stream as _;
use laputa::{blocking, Accept, CloseCode, Config, Error, Message, Reject};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// A server on a free port that runs `serve` for its first connection.
fn server<T: Send + 'static>(serve: impl FnOnce(TcpStream) -> T + Send + 'static) -> (String, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/chat?name=nobita", listener.local_addr().unwrap());
    let handle = thread::spawn(move || serve(listener.accept().unwrap().0));
    (url, handle)
}

#[test]
fn read_timeout_returns_and_the_connection_stays_usable() {
    // The echo waits until the client's read has timed out: nothing else can end that read.
    let (timed_out, wait) = std::sync::mpsc::channel::<()>();
    let (url, handle) = server(move |stream| {
        let mut ws = blocking::accept(stream).unwrap();
        let first = ws.read().unwrap();
        wait.recv().unwrap();
        ws.send(first).unwrap();
        ws.read()
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    ws.get_mut().set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    ws.send(Message::from("slow echo")).unwrap();
    let error = ws.read().unwrap_err();
    assert!(error.is_timeout(), "{error}");
    timed_out.send(()).unwrap();
    let echoed = loop {
        match ws.read() {
            Ok(message) => break message,
            Err(e) if e.is_timeout() => continue,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(echoed.as_text(), Some("slow echo"));
    ws.get_mut().set_read_timeout(None).unwrap();
    ws.close_with(CloseCode::NORMAL, "done").unwrap();
    match handle.join().unwrap() {
        Err(Error::Closed(closed)) => {
            assert!(closed.clean);
            assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "done"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn application_sees_the_request_and_can_reject_it() {
    let (url, handle) = server(|stream| {
        blocking::accept_with(stream, Config::default(), |request| {
            assert_eq!((request.path(), request.query()), ("/chat", Some("name=nobita")));
            Err(Reject::new(http::StatusCode::FORBIDDEN).body("not you"))
        })
        .map(|_| ())
    });
    let error = blocking::connect(&url).unwrap_err();
    let status = error.http_status();
    assert_eq!(status, Some(http::StatusCode::FORBIDDEN), "{error}");
    assert!(handle.join().unwrap().is_err());
}

#[test]
fn server_initiated_close_completes_for_both() {
    let (url, handle) = server(|stream| {
        let mut ws = blocking::accept_with(stream, Config::default(), |_| Ok(Accept::new().protocol("chat"))).unwrap();
        ws.send(Message::from(vec![1, 2, 3])).unwrap();
        ws.close_with(CloseCode::GOING_AWAY, "bye")
    });
    let request = laputa::ClientRequest::new(&url).unwrap().protocol("chat");
    let (mut ws, response) = blocking::connect_with(request, Config::default()).unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(ws.read().unwrap(), Message::from(vec![1, 2, 3]));
    match ws.read() {
        Err(Error::Closed(closed)) => assert!(closed.clean && closed.code == CloseCode::GOING_AWAY),
        other => panic!("{other:?}"),
    }
    handle.join().unwrap().unwrap();
}

#[test]
fn streamed_message_arrives_whole() {
    let (url, handle) = server(|stream| blocking::accept(stream).unwrap().read().unwrap());
    let (mut ws, _) = blocking::connect(&url).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    ws.send_from(laputa::MessageKind::Binary, &data[..], 4096).unwrap();
    assert_eq!(handle.join().unwrap().payload(), &data[..]);
}

#[test]
fn streamed_text_may_split_code_points_between_chunks_but_not_be_invalid() {
    let (url, handle) = server(|stream| blocking::accept(stream).unwrap().read().unwrap());
    let (mut ws, _) = blocking::connect(&url).unwrap();
    // 3-byte code points read 4 bytes at a time: almost every fragment ends inside one.
    let text = "\u{20ac}uro ".repeat(1000);
    let invalid = [text.as_bytes(), b"\xff"].concat();
    match ws.send_from(laputa::MessageKind::Text, &invalid[..], 4) {
        Err(Error::Ws(laputa::core::Error::InvalidUtf8)) => {}
        other => panic!("{other:?}"),
    }
    // The refused fragment left the message open; a new message cannot start until it ends.
    ws.send_fragment(laputa::MessageKind::Text, b"", true).unwrap();
    let received = handle.join().unwrap();
    assert_eq!(received.as_text(), Some(text.as_str()));
}

#[test]
fn bytes_sent_right_after_the_request_are_not_lost() {
    let (url, handle) = server(|stream| blocking::accept(stream).unwrap().read().unwrap());
    let addr = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
    let mut raw = TcpStream::connect(addr).unwrap();
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    // The RFC's masked "Hello", in the same write as the request.
    request.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    raw.write_all(&request).unwrap();
    assert_eq!(handle.join().unwrap().as_text(), Some("Hello"));
    let mut response = [0u8; 12];
    raw.read_exact(&mut response).unwrap();
    assert_eq!(&response, b"HTTP/1.1 101");
}

/// `feed` queues without writing (corking); `read` writes what is queued before it waits, and
/// `flush` writes it at once.
#[test]
fn feed_corks_until_a_call_writes() {
    let (url, handle) = server(|stream| {
        let mut ws = blocking::accept(stream).unwrap();
        while let Ok(message) = ws.read() {
            ws.feed(message).unwrap();
        }
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    for text in ["one", "two", "three"] {
        ws.feed(text).unwrap();
    }
    assert_eq!(ws.buffered_amount(), 3 * 6 + 3 + 3 + 5, "three masked frames queued, none written");
    assert_eq!(ws.read().unwrap(), Message::from("one"));
    assert_eq!(ws.buffered_amount(), 0);
    ws.feed("four").unwrap();
    ws.flush().unwrap();
    assert_eq!(ws.buffered_amount(), 0);
    for text in ["two", "three", "four"] {
        assert_eq!(ws.read().unwrap(), Message::from(text));
    }
    // Past the high-water mark, feed writes by itself.
    let large = Message::from(vec![7u8; blocking::FEED_HIGH_WATER]);
    ws.feed(large.clone()).unwrap();
    assert_eq!(ws.buffered_amount(), 0, "written once past the mark");
    assert_eq!(ws.read().unwrap(), large);
    ws.close().unwrap();
    handle.join().unwrap();
}

/// A send once the close handshake has begun is refused as closed, from either side: a loop
/// that stops on `is_closed` stops there too; `closed()` says how it ended once it has.
#[test]
fn sends_after_a_close_are_refused_as_closed() {
    let (url, handle) = server(|stream| {
        let mut ws = blocking::accept(stream).unwrap();
        let closed = ws.read().unwrap_err();
        let refused = ws.send("too late").unwrap_err();
        (closed.is_closed(), refused.is_closed(), format!("{refused:?}"))
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    ws.send_close(CloseCode::NORMAL, "done").unwrap();
    let refused = ws.send("after my close").unwrap_err();
    assert!(refused.is_closed(), "the closing side's send: {refused:?}");
    assert!(ws.closed().is_none(), "closing, not closed yet");
    match ws.read() {
        Err(Error::Closed(closed)) => {
            assert!(closed.clean, "{closed:?}");
            assert_eq!(ws.closed().map(|c| (c.code, c.clean)), Some((closed.code, true)));
        }
        other => panic!("{other:?}"),
    }
    let (closed, refused, debug) = handle.join().unwrap();
    assert!(closed, "the server's read after the client's close");
    assert!(refused, "the server's send after the client's close: {debug}");
}
