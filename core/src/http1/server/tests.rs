//! `ServerConn` against exact bytes: one test per rule of RFC 9112 it must get right.

use super::*;
use http::Response;

/// An event, comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Req(String, String, BodyKind, bool),
    Data(Vec<u8>),
    End(Vec<(String, String)>),
    Upgrade(String, Vec<u8>),
    Err(Http1Error),
}

fn simplify(event: HttpEvent) -> Ev {
    match event {
        HttpEvent::Request { request, body, expects_continue } => {
            Ev::Req(request.method().to_string(), request.uri().to_string(), body, expects_continue)
        }
        HttpEvent::BodyData(data) => Ev::Data(data.to_vec()),
        HttpEvent::BodyEnd { trailers } => {
            Ev::End(trailers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect())
        }
        HttpEvent::Upgrade { request, leftover } => Ev::Upgrade(request.uri().to_string(), leftover.to_vec()),
        HttpEvent::Error(err) => Ev::Err(err),
    }
}

fn req(method: &str, target: &str, body: BodyKind) -> Ev {
    Ev::Req(method.into(), target.into(), body, false)
}

fn t0() -> Instant {
    Instant::now()
}

fn conn() -> ServerConn {
    ServerConn::new(ServerLimits::default(), t0())
}

fn with(limits: ServerLimits) -> ServerConn {
    ServerConn::new(limits, t0())
}

/// Every event ready now.
fn events(conn: &mut ServerConn) -> Vec<Ev> {
    std::iter::from_fn(|| conn.poll_event()).map(simplify).collect()
}

/// Everything queued for the client.
fn out(conn: &mut ServerConn) -> String {
    out_at(conn, t0())
}

/// Everything queued for the client, the clock reading `now`.
fn out_at(conn: &mut ServerConn, now: Instant) -> String {
    let mut buf = Vec::new();
    conn.poll_transmit(now, &mut buf);
    String::from_utf8(buf).unwrap()
}

fn ok() -> Response<()> {
    Response::new(())
}

fn status(code: u16) -> Response<()> {
    Response::builder().status(code).body(()).unwrap()
}

/// Events with consecutive body data merged, so that any split of the input compares equal.
fn merged(events: Vec<Ev>) -> Vec<Ev> {
    let mut merged: Vec<Ev> = Vec::new();
    for event in events {
        match (merged.last_mut(), event) {
            (Some(Ev::Data(a)), Ev::Data(b)) => a.extend_from_slice(&b),
            (_, event) => merged.push(event),
        }
    }
    merged
}

#[test]
fn a_request_and_its_response_keep_the_connection_alive() {
    let mut c = conn();
    c.handle_input(b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(events(&mut c), [req("GET", "/a?b=1", BodyKind::Empty)]);
    c.respond_full(ok(), "hi").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    assert!(!c.poll_shutdown());
    c.handle_input(b"GET /c HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_eq!(events(&mut c), [req("GET", "/c", BodyKind::Empty)]);
    assert_eq!(c.unanswered(), 1);
}

#[test]
fn pipelined_requests_are_read_as_they_come_and_answered_in_order() {
    let input = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\
        POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
        PUT /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n\
        DELETE /4 HTTP/1.1\r\nHost: h\r\n\r\n";
    let expected = [
        req("GET", "/1", BodyKind::Empty),
        req("POST", "/2", BodyKind::Length(3)),
        Ev::Data(b"abc".to_vec()),
        Ev::End(vec![]),
        req("PUT", "/3", BodyKind::Chunked),
        Ev::Data(b"de".to_vec()),
        Ev::End(vec![("x-t".into(), "1".into())]),
        req("DELETE", "/4", BodyKind::Empty),
    ];
    // The same events however the input is split.
    for split in 0..=input.len() {
        let mut c = conn();
        let mut seen = Vec::new();
        for piece in [&input[..split], &input[split..]] {
            c.handle_input(piece);
            seen.extend(events(&mut c));
        }
        assert_eq!(merged(seen), expected, "split at {split}");
    }
    // Byte by byte.
    let mut c = conn();
    let mut seen = Vec::new();
    for byte in input {
        c.handle_input(std::slice::from_ref(byte));
        seen.extend(events(&mut c));
    }
    assert_eq!(merged(seen), expected);

    // Each response is for the oldest unanswered request; one at a time.
    assert_eq!(c.unanswered(), 4);
    c.respond(ok(), BodyKind::Chunked).unwrap();
    assert_eq!(c.respond(ok(), BodyKind::Empty), Err(ResponseError::InProgress));
    c.send_body(b"one").unwrap();
    c.finish_body().unwrap();
    for body in ["two", "three", "four"] {
        c.respond_full(ok(), body).unwrap();
    }
    assert_eq!(c.respond(ok(), BodyKind::Empty), Err(ResponseError::NoRequest));
    assert_eq!(
        out(&mut c),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n0\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo\
         HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree\
         HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfour"
    );
}

#[test]
fn requests_read_ahead_of_their_responses_are_bounded() {
    let limits = ServerLimits { max_pipelined: 2, ..ServerLimits::default() };
    let mut c = with(limits);
    c.handle_input(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n".repeat(3));
    assert_eq!(events(&mut c).len(), 2);
    assert_eq!(c.poll_timeout(), None, "waiting for the application, not the client");
    c.respond_full(ok(), "").unwrap();
    assert_eq!(events(&mut c), [req("GET", "/", BodyKind::Empty)]);
}

#[test]
fn unparsed_input_is_bounded_by_wants_input() {
    let limits = ServerLimits { max_buffered_input: 100, ..ServerLimits::default() };
    let mut c = with(limits);
    c.handle_input(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(events(&mut c), [Ev::Req("PUT".into(), "/".into(), BodyKind::Length(500), true)]);
    // A client that sends its body without waiting for 100: held until accepted.
    c.handle_input(&[b'x'; 100]);
    assert!(events(&mut c).is_empty());
    assert!(!c.wants_input());
    c.accept_body();
    assert_eq!(events(&mut c), [Ev::Data(vec![b'x'; 100])]);
    assert!(c.wants_input());
}

#[test]
fn expect_100_continue_is_sent_when_the_body_is_accepted_in_order() {
    let mut c = conn();
    c.handle_input(
        b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n\
          POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-Continue\r\n\r\n",
    );
    assert_eq!(
        events(&mut c),
        [req("GET", "/first", BodyKind::Empty), Ev::Req("POST".into(), "/up".into(), BodyKind::Length(4), true)]
    );
    assert_eq!(out(&mut c), "", "nothing before the application asks");
    c.accept_body();
    assert_eq!(out(&mut c), "", "the 100 waits for the response before it");
    c.respond_full(ok(), "1").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 100 Continue\r\n\r\n");
    c.handle_input(b"data");
    assert_eq!(events(&mut c), [Ev::Data(b"data".to_vec()), Ev::End(vec![])]);
    c.respond_full(status(201), "").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert!(!c.poll_shutdown());
}

#[test]
fn a_final_response_without_100_continue_closes_the_connection() {
    let mut c = conn();
    c.handle_input(b"PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(events(&mut c).len(), 1);
    c.respond_full(status(413), "no").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno");
    // Whatever the client sends now is neither read as body nor as a request.
    c.handle_input(b"dataGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(events(&mut c).is_empty());
    c.accept_body();
    assert_eq!(out(&mut c), "", "no 100 after the final response");
    assert!(c.poll_shutdown());
}

#[test]
fn expect_100_continue_is_ignored_from_http_1_0_and_without_a_body() {
    let mut c = conn();
    c.handle_input(b"POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx");
    assert_eq!(events(&mut c), [req("POST", "/", BodyKind::Length(1)), Ev::Data(b"x".to_vec()), Ev::End(vec![])]);
    let mut c = conn();
    c.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(events(&mut c), [req("GET", "/", BodyKind::Empty)]);
}

#[test]
fn head_gets_the_length_but_no_body() {
    let mut c = conn();
    c.handle_input(
        b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(events(&mut c).len(), 3);
    c.respond(ok(), BodyKind::Length(5)).unwrap();
    c.send_body(b"hello").unwrap();
    c.send_body(b"more than the length, dropped all the same").unwrap();
    c.finish_body().unwrap();
    c.respond(ok(), BodyKind::Chunked).unwrap();
    c.send_body_bytes(Bytes::from(vec![b'x'; 20_000])).unwrap();
    c.finish_body().unwrap();
    c.respond_full(ok(), "c").unwrap();
    assert_eq!(
        out(&mut c),
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\
         HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"
    );
}

#[test]
fn no_content_and_not_modified_have_no_body_or_length() {
    let mut c = conn();
    c.handle_input(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n".repeat(2));
    events(&mut c);
    c.respond(status(204), BodyKind::Length(3)).unwrap();
    c.send_body(b"abc").unwrap();
    c.finish_body().unwrap();
    c.respond(status(304), BodyKind::Empty).unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n");
}

#[test]
fn http_1_0_clients() {
    // Without keep-alive: closed after the response.
    let mut c = conn();
    c.handle_input(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(events(&mut c), [req("GET", "/", BodyKind::Empty)]);
    c.respond_full(ok(), "x").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx");
    assert!(c.poll_shutdown());

    // With keep-alive and a length: kept, and told so.
    let mut c = conn();
    c.handle_input(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    events(&mut c);
    c.respond_full(ok(), "x").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx");
    assert!(!c.poll_shutdown());

    // With keep-alive but no length: no chunked coding in HTTP/1.0, the close ends the body.
    c.handle_input(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    events(&mut c);
    c.respond(ok(), BodyKind::Chunked).unwrap();
    c.send_body(b"ab").unwrap();
    c.send_body(b"cd").unwrap();
    c.finish_body().unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcd");
    assert!(c.poll_shutdown());
}

#[test]
fn connection_close_from_the_client_ends_reading_after_its_request() {
    let mut c = conn();
    c.handle_input(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(events(&mut c), [req("GET", "/a", BodyKind::Empty)], "nothing after close is processed");
    c.respond_full(ok(), "").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(c.poll_shutdown());

    // Also with a body after it.
    let mut c = conn();
    c.handle_input(
        b"POST /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxGET /b HTTP/1.1\r\n\r\n",
    );
    assert_eq!(events(&mut c), [req("POST", "/a", BodyKind::Length(1)), Ev::Data(b"x".to_vec()), Ev::End(vec![])]);
}

#[test]
fn connection_close_from_the_server_drops_the_pipeline() {
    let mut c = conn();
    c.handle_input(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n".repeat(2));
    assert_eq!(events(&mut c).len(), 2);
    let bye = Response::builder().header(CONNECTION, "close").body(()).unwrap();
    c.respond_full(bye, "").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nconnection: close\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.respond(ok(), BodyKind::Empty), Err(ResponseError::NoRequest));
    assert!(c.poll_shutdown());
}

#[test]
fn an_unread_body_is_drained_within_bounds_or_the_connection_closes() {
    let limits = ServerLimits { max_drain: 8, ..ServerLimits::default() };
    // Answered before its body arrived: the body is discarded, the next request served.
    let mut c = with(limits);
    c.handle_input(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\nabc");
    assert_eq!(events(&mut c), [req("POST", "/a", BodyKind::Length(8)), Ev::Data(b"abc".to_vec())]);
    c.respond_full(ok(), "").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    c.handle_input(b"defghGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(events(&mut c), [req("GET", "/b", BodyKind::Empty)], "no more body events for /a");

    // A length past the bound: closed after the response, and said so.
    let mut c = with(limits);
    c.handle_input(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n");
    events(&mut c);
    c.respond_full(ok(), "").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(c.poll_shutdown());

    // A chunked body that passes the bound while drained: closed.
    let mut c = with(limits);
    c.handle_input(b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    events(&mut c);
    c.respond_full(ok(), "").unwrap();
    c.handle_input(b"5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(events(&mut c).is_empty());
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(c.poll_shutdown());
}

/// Each hostile head gets its status as a complete response with `Connection: close`, and the
/// connection closes.
#[test]
fn errors_are_answered_with_their_status_and_close() {
    let limits = ServerLimits { max_request_line: 64, max_head_size: 256, max_body: 16, ..ServerLimits::default() };
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(100));
    let large_head = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n", "b".repeat(300));
    let bare_lf = Http1Error::Malformed("a line of the head ends with LF without CR");
    let cases: [(&[u8], Http1Error); 20] = [
        (b"GET / HTTP/1.1\nHost: h\n\n", bare_lf),
        (b"GET / HTTP/1.1\r\nHost: h\n\r\n", bare_lf),
        (b"\r\n\nGET / HTTP/1.1\r\nHost: h\r\nX: 1\n", bare_lf),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            Http1Error::InvalidFraming("both Content-Length and Transfer-Encoding"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            Http1Error::InvalidFraming("differing Content-Length values"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
            Http1Error::InvalidFraming("invalid Content-Length"),
        ),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", Http1Error::Malformed("malformed HTTP request")),
        (b"GET / HTTP/1.1\r\n\r\n", Http1Error::Malformed("missing Host header")),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Http1Error::Malformed("more than one Host header")),
        (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", Http1Error::Malformed("more than one Host header")),
        (b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", Http1Error::Malformed("invalid Host header")),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", Http1Error::BodyTooLarge),
        (long_target.as_bytes(), Http1Error::RequestLineTooLong),
        (large_head.as_bytes(), Http1Error::HeadTooLarge),
        (b"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", Http1Error::UnknownMethod),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            Http1Error::UnsupportedTransferCoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            Http1Error::InvalidFraming("final transfer coding is not chunked"),
        ),
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", Http1Error::UnsupportedVersion),
        (b"GET / HTTP/1.2\r\nHost: h\r\n\r\n", Http1Error::UnsupportedVersion),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Http1Error::UnsupportedVersion),
    ];
    for (input, err) in cases {
        let mut c = with(limits);
        c.handle_input(input);
        c.handle_input(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(events(&mut c), [Ev::Err(err)], "{}", String::from_utf8_lossy(input));
        let status = err.status();
        let body = format!("{}\n", err.reason());
        let expected = format!(
            "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            status.as_str(),
            status.canonical_reason().unwrap(),
            body.len()
        );
        assert_eq!(out(&mut c), expected);
        assert_eq!(c.respond(ok(), BodyKind::Empty), Err(ResponseError::NoRequest));
        assert!(c.poll_shutdown(), "{err:?}");
    }
}

#[test]
fn broken_bodies_are_answered_after_the_request_event() {
    let limits = ServerLimits { max_body: 4, ..ServerLimits::default() };
    for (body, err) in [
        (&b"zz\r\n"[..], Http1Error::InvalidChunk("chunk size is not hex")),
        (b"1\r\naXX", Http1Error::InvalidChunk("no CRLF after the chunk data")),
        (b"ffffffffffffffffff\r\n", Http1Error::InvalidChunk("chunk size overflows")),
        (b"5\r\n", Http1Error::BodyTooLarge),
    ] {
        let mut c = with(limits);
        c.handle_input(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
        c.handle_input(body);
        assert_eq!(events(&mut c), [req("POST", "/", BodyKind::Chunked), Ev::Err(err)]);
        assert!(out(&mut c).starts_with(&format!("HTTP/1.1 {} ", err.status().as_str())));
        assert!(c.poll_shutdown());
    }
}

#[test]
fn a_body_broken_while_its_response_is_sent_closes_after_that_response() {
    let mut c = conn();
    c.handle_input(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n");
    assert_eq!(events(&mut c).len(), 2);
    c.respond(ok(), BodyKind::Chunked).unwrap();
    c.send_body(b"echo").unwrap();
    c.handle_input(b"x\r\n");
    assert_eq!(events(&mut c), [Ev::Err(Http1Error::InvalidChunk("chunk size is not hex"))]);
    c.finish_body().unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\necho\r\n0\r\n\r\n");
    assert!(c.poll_shutdown());
}

#[test]
fn an_error_after_pipelined_requests_is_answered_after_them() {
    let mut c = conn();
    c.handle_input(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
    let err = Http1Error::Malformed("malformed HTTP request");
    assert_eq!(events(&mut c), [req("GET", "/ok", BodyKind::Empty), Ev::Err(err)]);
    assert_eq!(out(&mut c), "", "the error waits for the response before it");
    c.respond_full(ok(), "fine").unwrap();
    let sent = out(&mut c);
    assert!(sent.starts_with(
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfineHTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
    ));
    assert!(c.poll_shutdown());
}

#[test]
fn a_head_that_never_ends_gets_408() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    events(&mut c);
    c.respond_full(ok(), "").unwrap();
    out(&mut c);
    // The second head trickles in and stops: its timer starts at its first byte.
    let t1 = now + Duration::from_secs(30);
    c.handle_input(b"GET /slow HTTP/1.1\r\n");
    assert!(events(&mut c).is_empty());
    assert!(c.wants_transmit(), "a clock reading starts the head timer");
    c.transmit(t1);
    let deadline = t1 + limits.request_timeout;
    assert_eq!(c.poll_timeout(), Some(deadline));
    c.handle_input(b"X-A: 1\r\n");
    c.handle_timeout(deadline - Duration::from_millis(1));
    assert!(events(&mut c).is_empty(), "more bytes do not extend the deadline, but it has not passed");
    c.handle_timeout(deadline);
    assert_eq!(events(&mut c), [Ev::Err(Http1Error::Timeout)]);
    assert!(out(&mut c).starts_with("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"));
    assert!(c.poll_shutdown());
}

#[test]
fn a_body_that_stops_gets_408_and_every_read_restarts_its_timer() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(events(&mut c), [req("POST", "/up", BodyKind::Length(10)), Ev::Data(b"abc".to_vec())]);
    let t1 = now + Duration::from_secs(1);
    c.transmit(t1);
    assert_eq!(c.poll_timeout(), Some(t1 + limits.body_timeout));
    // Bytes well before the deadline: a new one from the next clock reading.
    let t2 = t1 + limits.body_timeout - Duration::from_secs(1);
    c.handle_timeout(t2);
    c.handle_input(b"def");
    assert_eq!(events(&mut c), [Ev::Data(b"def".to_vec())]);
    c.transmit(t2);
    let deadline = t2 + limits.body_timeout;
    assert_eq!(c.poll_timeout(), Some(deadline));
    c.handle_timeout(deadline - Duration::from_millis(1));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(deadline);
    assert_eq!(events(&mut c), [Ev::Err(Http1Error::Timeout)]);
    assert!(out(&mut c).starts_with("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"));
    assert!(c.poll_shutdown());
}

#[test]
fn no_body_timer_runs_while_the_application_decides_or_has_bytes_to_read() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(events(&mut c), [Ev::Req("PUT".into(), "/up".into(), BodyKind::Length(4), true)]);
    c.transmit(now);
    assert_eq!(c.poll_timeout(), None, "waiting for the application to take the body");
    c.accept_body();
    let t1 = now + Duration::from_secs(2);
    assert_eq!(out_at(&mut c, t1), "HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(c.poll_timeout(), Some(t1 + limits.body_timeout), "now waiting for the client");
    c.handle_input(b"ab");
    assert_eq!(c.poll_timeout(), None, "bytes wait for the application");
    c.handle_timeout(t1 + limits.body_timeout * 2);
    assert_eq!(events(&mut c), [Ev::Data(b"ab".to_vec())], "no timeout: the client was not late");
}

#[test]
fn a_body_left_unread_that_stops_closes_the_connection_quietly() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nx");
    assert_eq!(events(&mut c)[0], req("POST", "/up", BodyKind::Length(100)));
    c.respond_full(ok(), "early").unwrap();
    let t1 = now + Duration::from_secs(1);
    assert!(out_at(&mut c, t1).starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(c.poll_timeout(), Some(t1 + limits.body_timeout), "the rest is drained, for a while");
    c.handle_timeout(t1 + limits.body_timeout);
    assert!(events(&mut c).is_empty(), "answered already: nobody to tell");
    assert_eq!(out(&mut c), "");
    assert!(c.poll_shutdown());
}

#[test]
fn each_pipelined_head_has_its_own_deadline() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n");
    c.transmit(now);
    assert_eq!(events(&mut c).len(), 1);
    let t1 = now + Duration::from_secs(3);
    c.transmit(t1);
    assert_eq!(c.poll_timeout(), Some(t1 + limits.request_timeout));
}

#[test]
fn idle_connections_are_closed_quietly() {
    let now = t0();
    let limits = ServerLimits::default();
    // Nothing ever sent: the request timeout, no answer.
    let mut c = ServerConn::new(limits, now);
    assert_eq!(c.poll_timeout(), Some(now + limits.request_timeout));
    c.handle_timeout(now + limits.request_timeout);
    assert!(events(&mut c).is_empty());
    assert_eq!(out(&mut c), "");
    assert!(c.poll_shutdown());

    // Between requests: the keep-alive timeout, from the clock reading after the response.
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    events(&mut c);
    assert_eq!(c.poll_timeout(), None);
    c.respond_full(ok(), "").unwrap();
    let t1 = now + Duration::from_secs(5);
    c.transmit(t1).clear();
    assert_eq!(c.poll_timeout(), Some(t1 + limits.keep_alive_timeout));
    c.handle_timeout(t1 + limits.keep_alive_timeout);
    assert!(c.poll_shutdown());
}

#[test]
fn a_timer_not_yet_anchored_is_anchored_by_handle_timeout_instead_of_firing() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"GET / HTTP/1.1\r\n");
    assert!(events(&mut c).is_empty());
    // The driver never read the clock since: the estimate is early, and only re-anchors.
    let estimate = c.poll_timeout().unwrap();
    let late = estimate + Duration::from_secs(1);
    c.handle_timeout(late);
    assert!(events(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(late + limits.request_timeout));
}

#[test]
fn an_upgrade_waits_for_earlier_responses_and_carries_what_follows() {
    let upgrade = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let mut c = conn();
    c.handle_input(b"GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
    c.handle_input(upgrade);
    c.handle_input(b"\x81\x80frame");
    assert_eq!(events(&mut c), [req("GET", "/page", BodyKind::Empty)]);
    assert!(c.poll_event().is_none());
    c.handle_input(b" more");
    c.respond_full(ok(), "page").unwrap();
    assert_eq!(events(&mut c), [Ev::Upgrade("/chat".into(), b"\x81\x80frame more".to_vec())]);
    assert!(!c.wants_input(), "the rest is the WebSocket side's");
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage");
    assert!(!c.poll_shutdown(), "handed over, not closed");
}

#[test]
fn an_upgrade_refused_over_http_closes_after_the_refusal() {
    let mut c = conn();
    c.handle_input(b"GET /nope HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    assert!(matches!(events(&mut c)[..], [Ev::Upgrade(..)]));
    c.respond_full(status(404), "").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(c.poll_shutdown());
}

#[test]
fn other_upgrades_are_ordinary_requests() {
    let mut c = conn();
    c.handle_input(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n\
          POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 1\r\n\r\nx",
    );
    assert_eq!(
        events(&mut c),
        [
            req("GET", "/", BodyKind::Empty),
            req("POST", "/", BodyKind::Length(1)),
            Ev::Data(b"x".to_vec()),
            Ev::End(vec![])
        ]
    );
}

#[test]
fn the_end_of_input_mid_body_is_an_error_and_requests_read_are_still_answered() {
    let mut c = conn();
    c.handle_input(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    c.handle_eof();
    assert_eq!(
        events(&mut c),
        [req("POST", "/", BodyKind::Length(10)), Ev::Data(b"abc".to_vec()), Ev::Err(Http1Error::Incomplete)]
    );
    assert!(out(&mut c).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(c.poll_shutdown());
    assert!(c.is_finished(), "the client is gone already");

    let mut c = conn();
    c.handle_input(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n".repeat(2));
    c.handle_input(b"GET /partial");
    c.handle_eof();
    assert_eq!(events(&mut c).len(), 2);
    c.respond_full(ok(), "1").unwrap();
    assert!(!c.poll_shutdown());
    c.respond_full(ok(), "2").unwrap();
    assert_eq!(out(&mut c).matches("200 OK").count(), 2);
    assert!(c.poll_shutdown());
    assert!(c.is_finished());
}

#[test]
fn the_connection_lingers_after_its_shutdown() {
    let now = t0();
    let limits = ServerLimits::default();
    let mut c = ServerConn::new(limits, now);
    c.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    events(&mut c);
    c.respond_full(ok(), "").unwrap();
    c.transmit(now).clear();
    assert!(c.poll_shutdown());
    assert!(c.wants_input(), "reads, to see the client's close");
    c.handle_input(b"GET /ignored HTTP/1.1\r\n\r\n");
    assert!(events(&mut c).is_empty());
    c.transmit(now);
    assert_eq!(c.poll_timeout(), Some(now + limits.linger));
    c.handle_timeout(now + limits.linger);
    assert!(c.is_finished());
}

#[test]
fn misuse_is_refused_without_queueing_anything() {
    let mut c = conn();
    assert_eq!(c.send_body(b"x"), Err(ResponseError::NoResponse));
    assert_eq!(c.finish_body(), Err(ResponseError::NoResponse));
    c.handle_input(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(events(&mut c), [req("CONNECT", "example.com:443", BodyKind::Empty)]);
    for code in [100, 101, 103, 200] {
        assert_eq!(c.respond(status(code), BodyKind::Empty), Err(ResponseError::InvalidStatus), "{code}");
    }
    assert_eq!(out(&mut c), "");
    c.respond(status(405), BodyKind::Length(2)).unwrap();
    assert_eq!(c.send_body(b"abc"), Err(ResponseError::BodyTooLong));
    c.send_body(b"no").unwrap();
    c.finish_body().unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 2\r\n\r\nno");
}

#[test]
fn framing_headers_are_the_cores() {
    let mut c = conn();
    c.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    events(&mut c);
    let head = Response::builder()
        .header(CONTENT_LENGTH, "999")
        .header(TRANSFER_ENCODING, "gzip")
        .header("x-app", "1")
        .body(())
        .unwrap();
    c.respond_full(head, "ab").unwrap();
    assert_eq!(out(&mut c), "HTTP/1.1 200 OK\r\nx-app: 1\r\nContent-Length: 2\r\n\r\nab");
}

#[test]
fn chunk_sizes_are_hex() {
    for (n, text) in [
        (1usize, "1\r\n"),
        (15, "f\r\n"),
        (16, "10\r\n"),
        (0x1234abcd, "1234abcd\r\n"),
        (usize::MAX, "ffffffffffffffff\r\n"),
    ] {
        let mut queue = TransmitQueue::default();
        push_chunk_size(&mut queue, n);
        assert_eq!(queue.chunk(), text.as_bytes());
    }
}
