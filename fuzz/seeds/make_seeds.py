#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/). Run from anywhere:
python3 fuzz/seeds/make_seeds.py. Each seed follows its target's input format (see the doc
comment at the top of each fuzz_targets/*.rs)."""

import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def frame(b0, payload, mask=None):
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + payload
    return head + payload


def client(b0, payload):
    return frame(b0, payload, KEY)


# ---- connection: split_a, split_b, bytes (read by a server and by a client) ----
conn = {
    "hello_masked": client(0x81, b"Hello"),
    "hello_unmasked": frame(0x81, b"Hello"),
    "fragmented_with_ping": client(0x01, b"Hel") + client(0x89, b"\x01\x02") + client(0x80, b"lo"),
    "len16": client(0x82, bytes(256)),
    "len64": frame(0x82, bytes(65536)),
    "close": client(0x88, b"\x03\xe8bye"),
    "close_unmasked": frame(0x88, b"\x03\xe8"),
    "utf8_split": client(0x01, "\u20ac".encode()[:1]) + client(0x80, "\u20ac".encode()[1:]),
    "pings": b"".join(client(0x89, bytes([i])) for i in range(20)),
    "binary_fragments": client(0x02, b"ab") + client(0x00, b"") + client(0x80, b"cd") + client(0x8A, b"p"),
    "bad_rsv": client(0xC1, b"x"),
    "huge_len": bytes([0x82, 0xFF]) + struct.pack(">Q", (1 << 63) - 1) + KEY,
}
for name, data in conn.items():
    write("connection", name, bytes([0x55, 0xAA]) + data)

# ---- handshake_request: mode, split_a, split_b, request ----
RFC = (
    b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
req = {
    "rfc": (0, RFC),
    "rfc_with_frames": (0, RFC + client(0x81, b"Hello") + client(0x88, b"\x03\xe8")),
    "accept_protocol": (8, RFC),
    "accept_not_offered": (16, RFC),
    "app_rejects": (24, RFC),
    "absolute_uri": (8, RFC.replace(b"/chat?room=1", b"ws://h/p", 1)),
    "extensions_cookies": (0, RFC.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate; "
                                         b"client_max_window_bits, x-foo\r\nCookie: a=1; b=2\r\n\r\n")),
    "post": (0, RFC.replace(b"GET", b"POST", 1)),
    "http10": (0, RFC.replace(b"HTTP/1.1", b"HTTP/1.0", 1)),
    "version12": (0, RFC.replace(b"Version: 13", b"Version: 12")),
    "no_key": (0, RFC.replace(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", b"")),
    "two_hosts": (0, RFC.replace(b"Host: server.example.com\r\n", b"Host: a\r\nHost: b\r\n")),
    "body": (0, RFC.replace(b"Origin: http://example.com", b"Content-Length: 3")),
    "small_limit": (3, RFC),
    "many_headers": (4, RFC.replace(b"\r\n\r\n", b"\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(10)) + b"\r\n")),
}
req["deflate_offer"] = (0x20, req["extensions_cookies"][1])
# More pings in one read than the 16 unwritten answers the core queues (the rest coalesce),
# with Ping events on (mode bit 6): then a close, or a frame with reserved bits that fails.
PINGS = b"".join(client(0x89, b"ping %02d" % i) for i in range(18))
req["ping_flood"] = (0x40, RFC + PINGS + client(0x88, b"\x03\xe8"))
req["ping_flood_failing"] = (0x40, RFC + PINGS + client(0xF1, b"rsv"))
for name, (mode, data) in req.items():
    write("handshake_request", name, bytes([mode, 0x40, 0x80]) + data)

# ---- handshake_response: mode, split_a, split_b, response ("@A" = the expected accept) ----
OK = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: @A\r\n"
resp = {
    "ok": OK + b"\r\n",
    "ok_protocol": OK + b"Sec-WebSocket-Protocol: chat\r\n\r\n",
    "ok_extension": OK + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
    "ok_then_frames": OK + b"\r\n" + frame(0x81, b"Hello") + frame(0x89, b"") + frame(0x88, b"\x03\xe8"),
    "ok_then_masked": OK + b"\r\n" + client(0x81, b"Hello"),
    "not_offered_protocol": OK + b"Sec-WebSocket-Protocol: mqtt\r\n\r\n",
    "two_protocols": OK + b"Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
    "not_offered_extension": OK + b"Sec-WebSocket-Extensions: x-bar\r\n\r\n",
    "wrong_accept": OK.replace(b"@A", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + b"\r\n",
    "no_upgrade": OK.replace(b"Upgrade: websocket\r\n", b"") + b"\r\n",
    "http10": OK.replace(b"HTTP/1.1", b"HTTP/1.0") + b"\r\n",
    "unauthorized": b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 3\r\n\r\nwho",
    "redirect": b"HTTP/1.1 302 Found\r\nLocation: ws://other/\r\n\r\n",
    "garbage": b"HTTP/1.1 1O1 nope\r\n\r\n",
}
for name, data in resp.items():
    write("handshake_response", name, bytes([0, 0x40, 0x80]) + data)
write("handshake_response", "deflate_on", bytes([0x20, 0x40, 0x80]) + resp["ok_extension"])
SERVER_PINGS = b"".join(frame(0x89, b"ping %02d" % i) for i in range(18))
write("handshake_response", "ping_flood", bytes([0x40, 0x40, 0x80]) + OK + b"\r\n" + SERVER_PINGS + frame(0x88, b"\x03\xe8"))
write("handshake_response", "ping_flood_failing", bytes([0x40, 0x40, 0x80]) + OK + b"\r\n" + SERVER_PINGS + frame(0xF1, b"rsv"))

# ---- ops: header, then (kind << 1 | side) and arguments (see core/tests/common/ops.rs) ----
ARGS = [2, 2, 1, 1, 2, 1, 1, 0, 0]
WEIGHTS = [(0, 25), (1, 20), (2, 5), (3, 2), (4, 1), (5, 17), (6, 29), (8, 1)]


def op_list(rng, n):
    out = [rng.randrange(256)]
    kinds = [k for k, w in WEIGHTS for _ in range(w)]
    for _ in range(n):
        kind = rng.choice(kinds)
        out.append((kind << 1) | rng.randrange(2))
        out.extend(rng.randrange(256) for _ in range(ARGS[kind]))
    return bytes(out)


def transmit_ways(ops_without):
    """Gives each transmit op (kind 5) of a list written without its argument one, taking the
    output through the vectored view and as Bytes in turn."""
    out, i, way = [ops_without[0]], 1, 1
    while i < len(ops_without):
        op = ops_without[i]
        kind = (op >> 1) % 9
        argc = 0 if kind == 5 else ARGS[kind]
        out.extend(ops_without[i:i + 1 + argc])
        if kind == 5:
            out.append(way)
            way ^= 1
        i += 1 + argc
    return bytes(out)


ops = {
    "text_ping_close": transmit_ways([1, 0, 1, 40, 5, 3, 10, 11, 12, 0, 13, 0, 8, 0, 1]),
    "fragments_trickled": transmit_ways([0, 3, 0, 200, 5, 30, 3, 1, 100, 11, 13, 1, 13, 1, 13, 1, 13, 1]),
    "both_close": transmit_ways([0, 8, 0, 5, 9, 1, 0, 10, 11, 12, 0, 13, 0]),
    "close_timeout": transmit_ways([0, 9, 2, 0, 11, 13, 0, 16]),
    "prepared_sends": transmit_ways([0, 1, 3, 205, 1, 2, 250, 0, 3, 40, 11, 10, 13, 0, 12, 0]),
}
rng = random.Random(6455)
for i in range(8):
    ops["random_%d" % i] = op_list(rng, 40 + 40 * i)
for name, data in ops.items():
    write("ops", name, data)

# ---- http_head: mode, split_a, split_b, a stream of pipelined messages ----
# mode bit 0: responses; bits 1-2: head bound (16 KiB, 1024, 256, 64); bit 3: 4 headers at most;
# bit 4: a 32-byte request line bound; bits 5-6: the method responses answer (GET, HEAD, CONNECT,
# POST).
REQUESTS = (
    b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    b"\r\nPUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    b"GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
)
head = {
    "requests": (0, REQUESTS),
    "smuggle_cl_te": (0, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "smuggle_two_cl": (0, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    "te_gzip_chunked": (0, b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
    "bare_lf": (0, b"GET / HTTP/1.1\nHost: h\n\nGET / HTTP/1.1\r\nA: b\n\nC: d\r\n\r\n"),
    "obs_fold": (0, b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
    "long_line": (0x10, b"GET /" + b"a" * 40 + b" HTTP/1.1\r\n\r\n"),
    "many_headers": (8, b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(6)) + b"\r\n"),
    "small_head": (6, REQUESTS),
    "http2": (0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    "early_hints": (1, b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                       b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00"),
    "continue_then_chunked_401": (1, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\n"
                                     b"WWW-Authenticate: Basic realm=\"x\"\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     b"4\r\nwho?\r\n0\r\nX: y\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
    "proxy_407_then_200": (0x41, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno"
                                 b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01"),
    "head_with_length": (0x21, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
    "read_to_close": (1, b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n<html>moved</html>"),
    "interim_flood": (7, b"HTTP/1.1 102 Processing\r\n\r\n" * 4 + b"HTTP/1.1 200 OK\r\n\r\n"),
    "te_and_cl_response": (1, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"),
    "bad_status": (1, b"HTTP/1.1 099 Low\r\n\r\n"),
}
for name, (mode, data) in head.items():
    write("http_head", name, bytes([mode, 0x40, 0x80]) + data)

# ---- http_body: mode, split_a, split_b, body bytes ----
# mode bits 0-1: chunked, read to close, Content-Length (first two bytes), none; bits 2-4: the
# maximum (0, 1, 7, 64, 1024, 64 KiB, unbounded, 16); bit 5: round trip of the '|'-separated chunks.
BIG = 5 << 2
body = {
    "chunked": (BIG, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nnext"),
    "chunked_ext_trailers": (BIG, b"00a ; name=\"v;\\\"x\" ;n2\r\n0123456789\r\n0;last\r\nExpires: never\r\nX: 1\r\n\r\n"),
    "chunked_overflow": (BIG, b"10000000000000000\r\n"),
    "chunked_huge": (6 << 2, b"ffffffffffffffff\r\nabc"),
    "chunked_bad_hex": (BIG, b"0x1\r\na\r\n"),
    "chunked_no_crlf": (BIG, b"1\r\naX0\r\n\r\n"),
    "chunked_bare_lf": (BIG, b"1\na\n0\n\n"),
    "chunked_over_max": (2 << 2, b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"),
    "read_to_close": (1 | BIG, b"<html>until the close</html>"),
    "read_to_close_over": (1 | (3 << 2), b"x" * 100),
    "length": (2 | BIG, b"\x00\x05helloHTTP/1.1 200 OK\r\n\r\n"),
    "length_over": (2 | (3 << 2), b"\x01\x00" + b"y" * 300),
    "none": (3, b"GET / HTTP/1.1\r\n\r\n"),
    "round_trip": (0x20 | BIG, b"hello| |world||" + bytes(range(256))),
    "round_trip_over": (0x20 | (2 << 2), b"hello|world"),
}
for name, (mode, data) in body.items():
    write("http_body", name, bytes([mode, 0x40, 0x80]) + data)

# ---- http_server: mode, split, bytes from the client ----
# mode bit 0: small limits; bit 1: bodies waiting for 100 Continue accepted; bits 2-3: requests
# left waiting before they are answered (0, 1, 2, 4); bit 4: EOF at the end; bit 5: the clock
# moves between reads; bits 6-7: which response kind comes first. split 0: one read.
H = b"Host: h\r\n"
WS_UPGRADE = (
    b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
server = {
    "get": (0x10, 0, b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
    "pipelined": (0x0C, 7, b"".join(b"GET /%d HTTP/1.1\r\n" % i + H + b"\r\n" for i in range(6))),
    "bodies": (0x04, 13, b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello"
               b"PUT /b HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
               b"HEAD /c HTTP/1.1\r\n" + H + b"\r\n"),
    "continue_accepted": (0x02, 3, b"POST /up HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\ndata"
                          b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
    "continue_refused": (0x00, 3, b"POST /up HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\ndata"),
    "http10": (0x40, 5, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"),
    "close": (0x80, 0, b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\nGET /never HTTP/1.1\r\n" + H + b"\r\n"),
    "smuggle_cl_te": (0x10, 0, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
    "smuggle_two_cl": (0x00, 0, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
    "obs_fold": (0x00, 0, b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n"),
    "no_host": (0x00, 0, b"GET / HTTP/1.1\r\n\r\n"),
    "bad_chunk": (0x00, 9, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "chunk_overflow": (0x01, 9, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
    "body_too_large": (0x01, 0, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 65\r\n\r\n"),
    "long_line": (0x01, 0, b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n\r\n"),
    "large_head": (0x01, 0, b"GET / HTTP/1.1\r\nX: " + b"b" * 300 + b"\r\n\r\n"),
    "unknown_method": (0x00, 0, b"BREW /pot HTTP/1.1\r\n" + H + b"\r\n"),
    "http2": (0x00, 0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    "slow_head": (0x20, 1, b"GET / HTTP/1.1\r\n" + H),
    "eof_mid_body": (0x10, 2, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n\r\nabc"),
    "unread_body": (0x01, 0, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 30\r\n\r\n" + b"z" * 30 + b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
    "upgrade": (0x04, 11, b"GET /page HTTP/1.1\r\n" + H + b"\r\n" + WS_UPGRADE + b"\x81\x80\x00\x00\x00\x00"),
}
for name, (mode, split, data) in server.items():
    write("http_server", name, bytes([mode, split]) + data)

# ---- proxy_env: port (2 bytes, big-endian), then "host\nNO_PROXY list\nproxy URL" ----
proxy_env = {
    "names": (443, "www.example.com\nlocalhost, .example.com, 10.0.0.0/8\nhttp://user:p%40ss@proxy.corp:3128"),
    "ipv6": (80, "[::1]\n::1, fe80::/10, [::2]:80\nproxy.corp"),
    "cidr": (8080, "10.1.2.3\n10.0.0.0/8,192.168.0.0/16, ::/0\nhttp://[2001:db8::1]:8080/"),
    "star_dot": (443, "a.b.example.com\n*.example.com:443\nsocks5://s:1080"),
    "not_suffix": (443, "notexample.com\nexample.com\nhttps://tls.proxy"),
    "bare_v6": (1, "fe80::1\n[fe80::]/10\n"),
    "case_dots": (65535, "EXAMPLE.COM.\nexample.com.\n  proxy:  "),
    "wildcard": (0, "host\n*\nhttp://:3128"),
    "broken": (22, "10.0.0.1\n10.0.0.0/33, [::1, example.com:http,,\nhttp://[::1\n"),
}
for name, (port, text) in proxy_env.items():
    write("proxy_env", name, struct.pack(">H", port) + text.encode())

# ---- cookie_jar: (op, line) pairs; op low nibble = URL index, high nibble: 0-7 store,
# 8-9 add, 10-11 time += len(line) seconds, 12-15 Cookie header ----
STORE, ADD, TIME, HEADER = 0x00, 0x80, 0xA0, 0xC0


def jar(*ops):
    return b"".join(bytes([op]) + line + b"\n" for op, line in ops)


cookie_jar = {
    "redirect": jar(
        (STORE | 1, b"session=abc; Path=/; Secure; HttpOnly"),
        (STORE | 0, b"lang=en; Domain=example.com; Max-Age=60"),
        (HEADER | 3, b""),
        (TIME, b"x" * 61),
        (HEADER | 3, b""),
    ),
    "domains": jar(
        (STORE | 2, b"a=1; Domain=example.com"),
        (STORE | 2, b"b=2; Domain=.EXAMPLE.com"),
        (STORE | 2, b"c=3; Domain=com"),
        (STORE | 5, b"d=4; Domain=example.com"),
        (STORE | 6, b"e=5; Domain=com"),
        (HEADER | 5, b""),
        (HEADER | 3, b""),
    ),
    "ips": jar(
        (STORE | 7, b"a=1; Domain=10.0.0.1"),
        (STORE | 8, b"b=2; Domain=0.0.1"),
        (STORE | 9, b"c=3; Domain=[::1]"),
        (STORE | 10, b"d=4; Domain=0:0::1; Secure"),
        (HEADER | 7, b""),
        (HEADER | 9, b""),
    ),
    "expiry_and_deletion": jar(
        (STORE | 0, b"a=1; Max-Age=5"),
        (STORE | 0, b"b=2; Expires=Tue, 14 Nov 2023 22:13:30 GMT"),
        (STORE | 0, b"c=3; Max-Age=0"),
        (STORE | 0, b"a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        (TIME, b"123456"),
        (HEADER | 0, b""),
    ),
    "secure_and_prefixes": jar(
        (STORE | 1, b"s=1; Secure"),
        (STORE | 0, b"s=evil"),
        (STORE | 0, b"t=1; Secure"),
        (STORE | 1, b"__Host-h=1; Secure; Path=/"),
        (STORE | 1, b"__Secure-x=1"),
        (ADD | 0, b"app=1; Secure"),
        (HEADER | 0, b""),
        (HEADER | 1, b""),
    ),
    "paths": jar(
        (STORE | 5, b"a=1"),
        (STORE | 5, b"b=2; Path=/x/y/"),
        (STORE | 5, b"c=3; Path=relative"),
        (STORE | 11, b"d=4; Path=/p"),
        (HEADER | 5, b""),
        (HEADER | 11, b""),
    ),
    "eviction": jar(*[(STORE | (i % 3), b"c%d=%s" % (i, b"v" * i)) for i in range(40)], (HEADER | 3, b"")),
}
for name, data in cookie_jar.items():
    write("cookie_jar", name, data)

# ---- connect_flow: two option bytes, then a script of events (see fuzz_targets/connect_flow.rs) ----
# Option byte 0: bit 0 wss; bits 1-2 proxy (0 none, 1 without, 2 with credentials); bits 3-4
# server credentials (0 none, 1 given, 2 given + preauth, 3 in the URL + preauth); bit 5
# redirects; bit 6 the application's cookies; bit 7 its Authorization headers. Byte 1: bits 0-1
# the redirect limit, bits 2-3 the URL, bits 4-5 the limits.
CF_DELIM = b"\xF5\xF5"


def cf_opts(wss=False, proxy=0, creds=0, redirects=False, cookies=False, app_headers=False,
            limit=0, url=0, limits=0):
    return bytes([int(wss) | proxy << 1 | creds << 3 | int(redirects) << 5 | int(cookies) << 6
                  | int(app_headers) << 7, limit | url << 2 | limits << 4])


def cf_data(data, a=0x40, b=0x80):
    """One read; every "@A" becomes the accept value of the last upgrade request."""
    return bytes([0, a, b]) + data + CF_DELIM


def cf_accept(early_hints=False, cookie=False, frame=False, a=0x40, b=0x80):
    """The harness's own 101 to the last upgrade request."""
    return bytes([1 | (int(early_hints) | int(cookie) << 1 | int(frame) << 2) << 3, a, b])


CF_EOF, CF_TIMEOUT, CF_TICK = b"\x02", b"\x03", b"\x04"
CF_101 = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: @A\r\n\r\n")
CF_200 = b"HTTP/1.1 200 Connection established\r\n\r\n"


def cf_407(challenges, body=b"", extra=b""):
    lines = b"".join(b"Proxy-Authenticate: " + c + b"\r\n" for c in challenges)
    return (b"HTTP/1.1 407 Proxy Authentication Required\r\n" + lines + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def cf_401(challenges, body=b"", extra=b""):
    lines = b"".join(b"WWW-Authenticate: " + c + b"\r\n" for c in challenges)
    return b"HTTP/1.1 401 Unauthorized\r\n" + lines + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def cf_redirect(status, location, extra=b""):
    return b"HTTP/1.1 %d Moved\r\nLocation: %s\r\n%sContent-Length: 0\r\n\r\n" % (status, location, extra)


def cf_chunked(head, chunks, trailers=b""):
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailers + b"\r\n"
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + body


CF_BASIC = b'Basic realm="corp"'
CF_DIGEST = b'Digest realm="corp", nonce="n1", qop="auth", algorithm=SHA-256, opaque="o"'
CF_DIGEST_STALE = b'Digest realm="corp", nonce="n2", qop="auth", algorithm=SHA-256, opaque="o", stale=true'
CF_DIGEST_MD5 = b'Digest realm="chat", nonce="m1", qop="auth,auth-int", algorithm=MD5-sess, userhash=true'
connect_flow = {
    "direct": cf_opts() + cf_accept(),
    "wss_cookie_frame": cf_opts(wss=True, cookies=True) + cf_accept(cookie=True, frame=True),
    "early_hints_then_101": cf_opts(url=1) + cf_data(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + CF_101),
    "early_hints_accept": cf_opts(wss=True, url=2) + cf_accept(early_hints=True, a=0x10, b=0xF0),
    # 407 (Basic and Digest: Digest is chosen), 200, 401, 101.
    "proxy_407_200_401_101": cf_opts(proxy=2, creds=1)
    + cf_data(cf_chunked(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: " + CF_BASIC
                         + b"\r\nProxy-Authenticate: " + CF_DIGEST + b"\r\n", [b"auth", b"please"], b"X: 1\r\n"))
    + cf_data(CF_200)
    + cf_data(cf_401([CF_BASIC, CF_DIGEST], b"who?"), a=0x80, b=0x20)
    + cf_accept(early_hints=True),
    "proxy_basic_wss_401_101": cf_opts(wss=True, proxy=2, creds=1)
    + cf_data(cf_407([CF_BASIC], b"no"))
    + cf_data(CF_200)
    + cf_data(cf_401([CF_BASIC]))
    + cf_data(CF_101),
    "proxy_stale_twice": cf_opts(wss=True, proxy=2, creds=1)
    + cf_data(cf_407([CF_DIGEST]))
    + cf_data(cf_407([CF_DIGEST_STALE]))
    + cf_data(CF_200)
    + cf_data(cf_401([CF_DIGEST]))
    + cf_data(cf_401([CF_DIGEST_STALE]))
    + cf_accept(),
    "proxy_407_close": cf_opts(wss=True, proxy=2, url=2)
    + cf_data(cf_407([CF_BASIC], extra=b"Connection: close\r\n"))
    + cf_data(CF_200) + cf_accept(),
    # The 407 and the 200 in one read: the retry CONNECT is queued when the tunnel opens (a
    # known case the target tolerates; see Driver::drive).
    "proxy_407_and_200_in_one_read": cf_opts(wss=True, proxy=2) + cf_data(cf_407([CF_BASIC]) + CF_200) + cf_accept(),
    "proxy_without_credentials": cf_opts(proxy=1, creds=1) + cf_data(cf_407([CF_BASIC])),
    "proxy_bytes_before_tls": cf_opts(wss=True, proxy=1) + cf_data(CF_200 + b"\x16\x03\x01\x00\x05hello", a=0x90),
    "proxy_then_server_same_read": cf_opts(proxy=1, url=3) + cf_data(CF_200) + cf_data(CF_101, a=0, b=0),
    "server_digest_userhash": cf_opts(creds=1, url=1) + cf_data(cf_401([CF_DIGEST_MD5, CF_BASIC], b"x")) + cf_accept(),
    "server_chunked_401": cf_opts(creds=2, app_headers=True)
    + cf_data(cf_chunked(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " + CF_BASIC + b"\r\n",
                         [b"a" * 20, b"b" * 300], b"Trailer-Field: t\r\n"), a=0x30, b=0x30)
    + cf_accept(frame=True),
    # Read to its close, the body of this 401 cannot be waited for: the retry goes on a new connection.
    "server_401_read_to_close": cf_opts(creds=3)
    + cf_data(b"HTTP/1.0 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\n\r\nbye") + cf_accept(),
    "eof_in_401_body": cf_opts(creds=1, proxy=2)
    + cf_data(CF_200)
    + cf_data(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 100\r\n\r\nabc")
    + CF_EOF + cf_data(CF_200) + cf_accept(),
    "wrong_password": cf_opts(creds=1) + cf_data(cf_401([CF_BASIC], b"no")) + cf_data(cf_401([CF_BASIC], b"no")),
    "redirect_same_then_other": cf_opts(creds=2, redirects=True, cookies=True, app_headers=True, limit=3)
    + cf_data(cf_redirect(302, b"/next", b"Set-Cookie: sid=1; Domain=example.com; Path=/\r\n"))
    + cf_data(cf_redirect(301, b"ws://other.test:81/x"))
    + cf_data(cf_401([CF_BASIC]))
    + cf_accept(),
    "redirect_other_port_then_401": cf_opts(creds=1, redirects=True, cookies=True, app_headers=True, limit=2, url=1)
    + cf_data(cf_redirect(307, b"//example.com:9000/y"))
    + cf_data(cf_401([CF_BASIC])),
    "redirect_to_wss_via_proxy": cf_opts(proxy=2, redirects=True, cookies=True, limit=2)
    + cf_data(CF_200)
    + cf_data(cf_redirect(308, b"https://secure.test/s?q#frag"))
    + cf_data(CF_200)
    + cf_accept(cookie=True),
    "redirect_location_userinfo": cf_opts(creds=2, redirects=True, limit=1)
    + cf_data(cf_redirect(302, b"ws://bob:pw@other.test/"))
    + cf_data(cf_401([CF_DIGEST]))
    + cf_accept(),
    "redirect_downgrade": cf_opts(wss=True, redirects=True, limit=3) + cf_data(cf_redirect(302, b"ws://example.com/")),
    "redirect_too_many": cf_opts(redirects=True, limit=1, url=3)
    + cf_data(cf_redirect(303, b"a/b")) + cf_data(cf_redirect(302, b"../c")),
    "redirect_relative_chain": cf_opts(redirects=True, limit=3, url=1, cookies=True)
    + cf_data(cf_redirect(302, b"c?d=1", b"Set-Cookie: app_secret=2; Path=/\r\n"))
    + cf_data(cf_redirect(302, b"http://10.0.0.1.:8080/"))
    + cf_data(cf_redirect(302, b"ws://[::1]/"))
    + cf_accept(),
    "timeout": cf_opts(proxy=1) + CF_TICK + cf_data(b"HTTP/1.1 200") + CF_TICK + CF_TIMEOUT,
    "eof_before_answer": cf_opts(wss=True) + cf_data(b"HTTP/1.1 101 Swi") + CF_EOF,
    "small_limits": cf_opts(creds=1, limits=3)
    + cf_data(cf_401([CF_BASIC], extra=b"".join(b"X-%d: v\r\n" % i for i in range(10)))),
    "bad_accept": cf_opts() + cf_data(CF_101.replace(b"@A", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")),
}
for name, data in connect_flow.items():
    write("connect_flow", name, data)

# ---- server_admission: mode, request (see the target for the services and mode bits) ----
def upgrade(target, *extra):
    head = (
        b"GET " + target + b" HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    return head + b"".join(line + b"\r\n" for line in extra) + b"\r\n"


server_admission = {
    "not_found": (0, upgrade(b"/nowhere")),
    "secure_no_credentials": (0, upgrade(b"/secure")),
    "secure_sha256": (0x08, upgrade(b"/secure?x=1")),
    "secure_md5_replayed": (0x08 | 0x10 | 0x40, upgrade(b"/secure/")),
    "secure_wrong_password": (0x08 | 0x20, upgrade(b"/secure")),
    "secure_stale": (0x07, upgrade(b"/secure", b'Authorization: Digest username="alice", realm="secure", '
                                   b'nonce="AAAAAGVT8QDxxx", uri="/secure", response="00", qop=auth, nc=00000001, cnonce="c"')),
    "secure_malformed": (0, upgrade(b"/secure", b"Authorization: Digest realm=\"x")),
    "web_origin_ok": (0, upgrade(b"/web", b"Origin: https://example.com")),
    "web_origin_refused": (0, upgrade(b"/web", b"Origin: https://evil.example")),
    "chat_protocols_cookies": (0, upgrade(b"/chat", b"Sec-WebSocket-Protocol: superchat, chat", b"Cookie: a=1")),
    "chat_banned": (0, upgrade(b"/%63hat", b"Cookie: banned=1")),
    "broken_accept": (0, upgrade(b"/broken")),
    "dot_segments": (0, upgrade(b"/x/../chat")),
    "not_an_upgrade": (0, b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n"),
}
for name, (mode, data) in server_admission.items():
    write("server_admission", name, bytes([mode]) + data)

# ---- static_path: mode, len (8 bytes LE), mtime (8 bytes LE signed), "path\nname: value\n..." ----
def static(mode, length, mtime, path, *headers):
    text = b"\n".join([path] + list(headers))
    return bytes([mode]) + struct.pack("<Q", length) + struct.pack("<q", mtime) + text


SP_TIME = 1_700_000_000
SP_ETAG = b'"3e8-6553f100.0"'
SP_DATE = b"Tue, 14 Nov 2023 22:13:20 GMT"
static_path = {
    "plain": static(0, 1000, SP_TIME, b"/index.html"),
    "root_index": static(0, 1000, SP_TIME, b"/"),
    "head": static(1, 1000, SP_TIME, b"/a.css", b"Range: bytes=0-9"),
    "post": static(2, 1000, SP_TIME, b"/a.txt"),
    "directory": static(0x08, 0, SP_TIME, b"/docs?x=1"),
    "directory_index": static(0x08, 0, SP_TIME, b"/docs/"),
    "fifo": static(0x0C, 0, SP_TIME, b"/fifo"),
    "no_mtime": static(0x10, 1000, 0, b"/a.bin", b"If-None-Match: *"),
    "before_1970": static(0, 1000, -86400, b"/a.bin", b"If-Modified-Since: " + SP_DATE),
    "after_9999": static(0x20, 1000, 300_000_000_000, b"/a.bin", b"If-Range: " + SP_DATE, b"Range: bytes=1-2"),
    "dotdot": static(0, 10, SP_TIME, b"/../etc/passwd"),
    "dotdot_encoded": static(0, 10, SP_TIME, b"/%2e%2E/.%2e/%2E./etc/passwd"),
    "encoded_slash": static(0, 10, SP_TIME, b"/..%2f..%2fetc%2fpasswd"),
    "encoded_backslash": static(0, 10, SP_TIME, b"/..%5c..%5cwindows"),
    "backslash": static(0, 10, SP_TIME, b"/..\\..\\windows\\win.ini"),
    "nul": static(0, 10, SP_TIME, b"/a.txt%00.png"),
    "overlong_utf8": static(0, 10, SP_TIME, b"/%C0%AE%C0%AE/x"),
    "double_encoded": static(0, 10, SP_TIME, b"/%252e%252e/x"),
    "scheme_relative": static(0, 10, SP_TIME, b"//evil.example/"),
    "drive": static(0, 10, SP_TIME, b"/C:/Windows/win.ini"),
    "stream": static(0, 10, SP_TIME, b"/a.txt::$DATA"),
    "device": static(0, 10, SP_TIME, b"/com1.txt"),
    "utf8": static(0, 10, SP_TIME, b"/caf%C3%A9/na\xc3\xafve.html"),
    "range": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=100-199"),
    "range_open": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=900-"),
    "range_suffix": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=-100"),
    "range_past_end": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=1000-"),
    "range_huge": static(0, 2**64 - 1, SP_TIME, b"/v.mp4", b"Range: bytes=18446744073709551614-99999999999999999999999"),
    "range_multi": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=0-1,5-6"),
    "range_empty_file": static(0, 0, SP_TIME, b"/e", b"Range: bytes=-1"),
    "if_range_etag": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=0-9", b"If-Range: " + SP_ETAG),
    "if_range_date": static(0, 1000, SP_TIME, b"/v.mp4", b"Range: bytes=0-9", b"If-Range: " + SP_DATE),
    "if_none_match": static(0, 1000, SP_TIME, b"/a", b'If-None-Match: "x", W/' + SP_ETAG),
    "if_modified_since": static(0, 1000, SP_TIME, b"/a", b"If-Modified-Since: " + SP_DATE),
    "if_match": static(0, 1000, SP_TIME, b"/a", b'If-Match: "x"'),
    "if_unmodified_since": static(0, 1000, SP_TIME, b"/a", b"If-Unmodified-Since: Tue, 14 Nov 2023 22:13:19 GMT"),
}
for name, data in static_path.items():
    write("static_path", name, data)

# ---- query_params: a query string, any bytes ----
query_params = {
    "form": b"name=Sheeta+Lusheeta&city=Laputa%21&flag",
    "utf8": b"caf%C3%A9=%E3%83%A9&x=%e3%83%a9",
    "broken_escapes": b"a=100%&b=%zz%4&c=%+1&&=v&d=",
    "not_utf8": b"a=%FF%C3&b=\xc3",
}
for name, data in query_params.items():
    write("query_params", name, data)
