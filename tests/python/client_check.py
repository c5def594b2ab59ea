#!/usr/bin/env python3
"""Interop check of an echo server with a Python `websockets` client.

Sends text and binary messages, small and 1 MiB, of random content, and checks that each echo is
identical. Exits 0 with a summary on success, 1 with the reason otherwise.

    client_check.py ws://127.0.0.1:9001/ [--compression on] [deflate options as echo_server.py]
        [--expect-agreed "permessage-deflate; server_max_window_bits=9"]
    client_check.py wss://localhost:9001/ --ca ca.pem [...]

With --expect-agreed, the server's Sec-WebSocket-Extensions answer must hold exactly those
parameters (in any order). A wss:// URL runs over the `ssl` module (OpenSSL), trusting only the
CA certificates of --ca, with the host name checked; the summary names the TLS version and the
ALPN protocol the server chose.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import string
import sys

from deflate_args import add_deflate_args, client_extensions
from websockets.asyncio.client import connect

MIB = 1024 * 1024


def random_text(size: int) -> str:
    # Mostly ASCII with some multi-byte characters, so UTF-8 handling is exercised too.
    alphabet = string.ascii_letters + string.digits + " éß€😀"
    return "".join(random.choices(alphabet, k=size))


def parameters(extension: str) -> set[str]:
    """The parameters of one extension in a Sec-WebSocket-Extensions value, its name first."""
    return {p.strip().replace(" ", "").lower() for p in extension.split(";") if p.strip()}


def messages() -> list[tuple[str, str | bytes]]:
    return [
        ("small text", random_text(100)),
        ("small binary", os.urandom(100)),
        ("1 MiB text", random_text(MIB)),
        ("1 MiB binary", os.urandom(MIB)),
        ("empty text", ""),
        ("empty binary", b""),
    ]


def tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """For a wss:// URL: trust the CA certificates of --ca only, check the host name, offer
    ALPN http/1.1 (as browsers do for WebSockets)."""
    if not args.url.startswith("wss://"):
        return None
    if args.ca is None:
        raise AssertionError("a wss:// URL needs --ca")
    context = ssl.create_default_context(cafile=args.ca)
    context.set_alpn_protocols(["http/1.1"])
    return context


def tls_summary(ws) -> str:
    ssl_object = ws.transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return "plain"
    return f"{ssl_object.version()} ALPN {ssl_object.selected_alpn_protocol()}"


async def check(args: argparse.Namespace) -> str:
    """Run the exchange; return a summary, or raise AssertionError with the reason."""
    async with connect(
        args.url,
        ssl=tls_context(args),
        compression=None,
        extensions=client_extensions(args),
        max_size=16 * MIB,
        ping_interval=None,
        open_timeout=10,
        close_timeout=10,
    ) as ws:
        negotiated = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        if args.compression == "on" and "permessage-deflate" not in negotiated:
            raise AssertionError(f"permessage-deflate not negotiated (response: {negotiated!r})")
        if args.compression == "off" and negotiated:
            raise AssertionError(f"unexpected extensions negotiated: {negotiated!r}")
        if args.expect_agreed is not None and parameters(negotiated) != parameters(args.expect_agreed):
            raise AssertionError(f"agreed {negotiated!r}, expected {args.expect_agreed!r}")
        batch = messages()
        sent = 0
        for name, payload in batch:
            await ws.send(payload)
            echo = await asyncio.wait_for(ws.recv(), timeout=30)
            if type(echo) is not type(payload):
                raise AssertionError(f"{name}: echo is {type(echo).__name__}, sent {type(payload).__name__}")
            if echo != payload:
                raise AssertionError(f"{name}: echo differs ({len(echo)} units back, {len(payload)} sent)")
            sent += len(payload)
        transport = tls_summary(ws)
    return (
        f"{len(batch)} messages ({sent} units) echoed identically; extensions: {negotiated or 'none'}; "
        f"transport: {transport}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    add_deflate_args(parser)
    parser.add_argument("--expect-agreed", metavar="EXTENSION")
    parser.add_argument("--ca", metavar="FILE", help="CA certificates (PEM) to trust for a wss:// URL")
    args = parser.parse_args()
    try:
        summary = asyncio.run(check(args))
    except Exception as error:  # every failure is reported the same way
        print(f"client_check FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"client_check OK: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
