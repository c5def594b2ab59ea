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
}
rng = random.Random(6455)
for i in range(8):
    ops["random_%d" % i] = op_list(rng, 40 + 40 * i)
for name, data in ops.items():
    write("ops", name, data)

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
