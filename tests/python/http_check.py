#!/usr/bin/env python3
"""Raw HTTP/1.1 checks of laputa's server, for tests/tests/http_conformance.rs.

    http_check.py HOST:PORT ROOT CHECK...

ROOT is the server's document root (hello.txt, blob.bin, sub/index.html); POST answers
`len=N fnv1a64=HEX` for any path, and /echo is a WebSocket echo service. Each CHECK prints
`ok: CHECK` when it passes; the first failure raises (exit 1, with the reason).

Requests are written as raw bytes, so that nothing between the script and the server fixes
them; responses are parsed with `http.client.HTTPResponse`, one after another from the same
buffered reader, so that a byte too many or too few in one response breaks the next.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import sys
import time
from pathlib import Path

# No step takes this long unless the server is broken: a read that waits longer fails.
WAIT = 20.0


class KeepOpen(io.BufferedReader):
    """A reader that `HTTPResponse` cannot close, so that the next response is read from it."""

    def close(self) -> None:
        pass


class OneReader:
    """What `HTTPResponse` takes as a socket: `makefile` gives the same reader every time."""

    def __init__(self, reader: io.BufferedReader) -> None:
        self.reader = reader

    def makefile(self, *_args, **_kwargs) -> io.BufferedReader:
        return self.reader


def connect(addr: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(addr, timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def socket_reader(sock: socket.socket, buffer_size: int = io.DEFAULT_BUFFER_SIZE) -> KeepOpen:
    """A reader of `sock`; with `buffer_size` 1 it never reads past what is asked."""
    return KeepOpen(socket.SocketIO(sock, "rb"), buffer_size)


def bytes_reader(data: bytes) -> KeepOpen:
    return KeepOpen(io.BytesIO(data))


def response(reader: io.BufferedReader, method: str = "GET") -> tuple[http.client.HTTPResponse, bytes]:
    """The next response from `reader`, and its whole body."""
    resp = http.client.HTTPResponse(OneReader(reader), method=method)
    resp.begin()
    return resp, resp.read()


def read_to_eof(sock: socket.socket) -> bytes:
    """Everything until the server closes (a read that waits past WAIT raises)."""
    out = bytearray()
    while chunk := sock.recv(65536):
        out += chunk
    return bytes(out)


def all_responses(data: bytes, method: str = "GET") -> list[tuple[int, http.client.HTTPMessage, bytes]]:
    """Every response in `data`, which must end exactly after the last one."""
    reader = bytes_reader(data)
    out = []
    while reader.peek(1):
        resp, body = response(reader, method)
        out.append((resp.status, resp.headers, body))
    return out


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def check_keep_alive(addr: tuple[str, int], root: Path) -> None:
    """http.client reuses one connection for three requests (it would open a new one if the
    server had closed it), and each answer is whole."""
    conn = http.client.HTTPConnection(*addr, timeout=WAIT)
    conn.request("GET", "/hello.txt")
    first = conn.getresponse()
    assert first.status == 200, first.status
    assert first.read() == (root / "hello.txt").read_bytes()
    sock = conn.sock
    port = sock.getsockname()[1]
    conn.request("POST", "/upload", body=b"x" * 1000)
    second = conn.getresponse()
    assert second.read() == f"len=1000 fnv1a64={fnv1a64(b'x' * 1000)}".encode()
    conn.request("GET", "/sub/")
    third = conn.getresponse()
    assert third.status == 200 and third.read() == (root / "sub" / "index.html").read_bytes()
    assert conn.sock is sock and sock.getsockname()[1] == port, "the connection was not reused"
    assert not first.will_close and not third.will_close
    conn.close()


def check_pipelined(addr: tuple[str, int], root: Path) -> None:
    """20 requests in one write (GETs of distinct ranges, HEADs, POSTs, a 404), the last with
    `Connection: close`: 20 answers, in order, each the one its request asked for, then EOF."""
    blob = (root / "blob.bin").read_bytes()
    requests, expected = [], []
    for i in range(20):
        last = "Connection: close\r\n" if i == 19 else ""
        if i % 5 == 0:
            body = bytes([i]) * (i * 100 + 1)
            requests.append(
                f"POST /p{i} HTTP/1.1\r\nHost: h\r\nContent-Length: {len(body)}\r\n{last}\r\n".encode() + body
            )
            expected.append(("POST", 200, f"len={len(body)} fnv1a64={fnv1a64(body)}".encode()))
        elif i % 5 == 1:
            requests.append(f"HEAD /blob.bin HTTP/1.1\r\nHost: h\r\n{last}\r\n".encode())
            expected.append(("HEAD", 200, b""))
        elif i == 7:
            requests.append(f"GET /missing-{i}.txt HTTP/1.1\r\nHost: h\r\n{last}\r\n".encode())
            expected.append(("GET", 404, None))
        else:
            start = i * 1000
            requests.append(
                f"GET /blob.bin HTTP/1.1\r\nHost: h\r\nRange: bytes={start}-{start + i}\r\n{last}\r\n".encode()
            )
            expected.append(("GET", 206, blob[start : start + i + 1]))
    with connect(addr) as sock:
        sock.sendall(b"".join(requests))
        reader = socket_reader(sock)
        for n, (method, status, body) in enumerate(expected):
            resp, got = response(reader, method)
            assert resp.status == status, f"answer {n}: {resp.status}, not {status}"
            if body is not None:
                assert got == body, f"answer {n}: {got[:80]!r}, not {body[:80]!r}"
            if method == "HEAD":
                assert resp.headers["Content-Length"] == str(len(blob)), resp.headers
        assert reader.read() == b"", "bytes after the 20th answer"


def check_http10(addr: tuple[str, int], root: Path) -> None:
    """HTTP/1.0 without keep-alive: one answer, then the close (the second request in the same
    write is never answered); with keep-alive: both answered on one connection."""
    hello = (root / "hello.txt").read_bytes()
    with connect(addr) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\nGET /sub/ HTTP/1.0\r\n\r\n")
        answers = all_responses(read_to_eof(sock))
    assert [(status, body) for status, _, body in answers] == [(200, hello)], answers
    with connect(addr) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        reader = socket_reader(sock)
        resp, body = response(reader)
        assert (resp.status, body) == (200, hello)
        assert resp.headers["Connection"].lower() == "keep-alive", resp.headers
        sock.sendall(b"GET /sub/ HTTP/1.0\r\n\r\n")
        resp, body = response(reader)
        assert (resp.status, body) == (200, (root / "sub" / "index.html").read_bytes())
        assert reader.read() == b"", "the connection stays open after HTTP/1.0 without keep-alive"


# Each request is followed, in the same write, by a GET that a server that got the framing
# wrong would answer: a second answer (or any byte after the first) fails the check.
SMUGGLED = b"GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n"

REFUSED = [
    # (name, request, status)
    ("content-length and transfer-encoding",
     b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("transfer-encoding and content-length",
     b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n", 400),
    ("two content-lengths",
     b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 36\r\n\r\n", 400),
    ("content-length list", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0, 36\r\n\r\n", 400),
    ("negative content-length", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
    ("obsolete line folding", b"GET /hello.txt HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n", 400),
    ("folded content-length", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n 36\r\n\r\n", 400),
    ("head ended by a bare LF", b"GET /hello.txt HTTP/1.1\r\nHost: h\r\n\n", 400),
    ("body after a bare LF", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\nhello", 400),
    ("NUL in a header", b"GET /hello.txt HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400),
    ("bare CR in a header", b"GET /hello.txt HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400),
    ("HTTP/0.9 request line", b"GET /hello.txt\r\n\r\n", 400),
    ("content-length with a plus", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello", 400),
    ("chunked twice", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("missing host", b"GET /hello.txt HTTP/1.1\r\n\r\n", 400),
    ("two hosts", b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("chunk size not hex", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("negative chunk size", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", 400),
    ("overflowing chunk size",
     b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n", 400),
    ("chunk size with 0x", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk without its CRLF", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
    ("transfer-encoding not ending in chunked",
     b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
    ("transfer-encoding in HTTP/1.0", b"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("space before the colon", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length : 36\r\n\r\n", 400),
    ("unknown method", b"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", 501),
    ("unknown transfer coding", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("HTTP/2.0", b"GET /hello.txt HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    ("HTTP/1.2", b"GET /hello.txt HTTP/1.2\r\nHost: h\r\n\r\n", 505),
]


def check_refused(addr: tuple[str, int], _root: Path) -> None:
    """Each request RFC 9112 forbids, with a second request behind it in the same write: one
    answer with its status and `Connection: close`, then the close; the second never answered."""
    for name, request, status in REFUSED:
        with connect(addr) as sock:
            sock.sendall(request + SMUGGLED)
            data = read_to_eof(sock)
        answers = all_responses(data)
        assert len(answers) == 1, f"{name}: {len(answers)} answers: {data!r}"
        got, headers, _ = answers[0]
        assert got == status, f"{name}: {got}, not {status}: {data!r}"
        assert headers["Connection"] == "close", f"{name}: {headers}"
        print(f"    {name}: {status}", flush=True)


def check_slowloris(addr: tuple[str, int], _root: Path) -> None:
    """A head trickled one byte a second is cut off with 408 (the request timeout), then the
    close; never served. The check itself gives up after 120 bytes."""
    with connect(addr) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: h\r\nX-Slow: ")
        for _ in range(120):
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                break
            sock.sendall(b"a")
        else:
            raise AssertionError("the head was never cut off")
        data = read_to_eof(sock)
    answers = all_responses(data)
    assert [status for status, _, _ in answers] == [408], data


def check_silent(addr: tuple[str, int], _root: Path) -> None:
    """A connection that sends nothing is closed without an answer (the request timeout)."""
    with connect(addr) as sock:
        assert read_to_eof(sock) == b""


def check_bare_lf(addr: tuple[str, int], _root: Path) -> None:
    """A head whose lines end with LF alone, and nothing after it: 400 at once, then the close,
    not a 408 once the request timeout passes while the server waits for a CRLF CRLF."""
    with connect(addr) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.1\nHost: h\n\n")
        data = read_to_eof(sock)
    answers = all_responses(data)
    assert [status for status, _, _ in answers] == [400], data


def check_stalled_body(addr: tuple[str, int], _root: Path) -> None:
    """A body that stops halfway is cut off with 408 (the body timeout), then the close; a body
    that keeps coming, a byte at a time more slowly than the timeout in all, is answered."""
    with connect(addr) as sock:
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        data = read_to_eof(sock)
    answers = all_responses(data)
    assert [status for status, _, _ in answers] == [408], data
    with connect(addr) as sock:
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nConnection: close\r\n\r\n")
        for byte in b"abcdef":
            time.sleep(0.5)
            sock.sendall(bytes([byte]))
        data = read_to_eof(sock)
    answers = all_responses(data, "POST")
    assert [status for status, _, _ in answers] == [200], data


def check_websocket_after_http(addr: tuple[str, int], root: Path) -> None:
    """Two plain requests, then a WebSocket upgrade on the same connection: the echo works."""
    from websockets.sync.client import connect as ws_connect

    sock = connect(addr)
    reader = socket_reader(sock, 1)
    for path in ("/hello.txt", "/sub/"):
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        resp, body = response(reader)
        assert resp.status == 200 and body, (path, resp.status)
    assert not select.select([sock], [], [], 0)[0], "bytes after the answers"
    port = sock.getsockname()[1]
    with ws_connect(f"ws://{addr[0]}:{addr[1]}/echo", sock=sock, open_timeout=WAIT, close_timeout=WAIT) as ws:
        assert ws.socket.getsockname()[1] == port
        for message in ("BALUS", b"\x00\xff" * 1000, "天空の城" * 100):
            ws.send(message)
            assert ws.recv(timeout=WAIT) == message


def check_websocket_echo(addr: tuple[str, int], _root: Path) -> None:
    """A WebSocket connection to /echo echoes text and binary messages."""
    from websockets.sync.client import connect as ws_connect

    with ws_connect(f"ws://{addr[0]}:{addr[1]}/echo", open_timeout=WAIT, close_timeout=WAIT) as ws:
        for message in ("BALUS", b"\x00\xff" * 1000):
            ws.send(message)
            assert ws.recv(timeout=WAIT) == message


def check_websocket_pipelined(addr: tuple[str, int], root: Path) -> None:
    """A GET, a WebSocket upgrade and a first (masked) frame in one write: the page, then the
    101, then the frame echoed; nothing after the upgrade is read as HTTP."""
    import base64
    import hashlib
    import os

    key = base64.b64encode(os.urandom(16)).decode()
    mask = os.urandom(4)
    text = "GET /hello.txt HTTP/1.1".encode()  # a frame that looks like a request line
    frame = bytes([0x81, 0x80 | len(text)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    upgrade = (
        "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with connect(addr) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n" + upgrade + frame)
        reader = socket_reader(sock, 1)
        resp, body = response(reader)
        assert (resp.status, body) == (200, (root / "hello.txt").read_bytes()), (resp.status, body)
        switching = http.client.HTTPResponse(OneReader(reader))
        switching.begin()
        assert switching.status == 101, switching.status
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert switching.headers["Sec-WebSocket-Accept"] == accept.decode(), switching.headers
        echoed = reader.read(2 + len(text))
        assert echoed == bytes([0x81, len(text)]) + text, echoed


CHECKS = {
    "keep_alive": check_keep_alive,
    "pipelined": check_pipelined,
    "http10": check_http10,
    "refused": check_refused,
    "slowloris": check_slowloris,
    "silent": check_silent,
    "bare_lf": check_bare_lf,
    "stalled_body": check_stalled_body,
    "websocket_after_http": check_websocket_after_http,
    "websocket_pipelined": check_websocket_pipelined,
    "websocket_echo": check_websocket_echo,
}


def main() -> None:
    host, port = sys.argv[1].rsplit(":", 1)
    addr = (host, int(port))
    root = Path(sys.argv[2])
    for name in sys.argv[3:]:
        CHECKS[name](addr, root)
        print(f"ok: {name}", flush=True)


if __name__ == "__main__":
    main()
