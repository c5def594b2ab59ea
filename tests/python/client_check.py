#!/usr/bin/env python3
"""Interop check of an echo server with a Python `websockets` client.

Sends text and binary messages, small and 1 MiB, of random content, and checks that each echo is
identical. Exits 0 with a summary on success, 1 with the reason otherwise.

    client_check.py ws://127.0.0.1:9001/ [--compression on] [deflate options as echo_server.py]
        [--expect-agreed "permessage-deflate; server_max_window_bits=9"]

With --expect-agreed, the server's Sec-WebSocket-Extensions answer must hold exactly those
parameters (in any order).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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


async def check(args: argparse.Namespace) -> str:
    """Run the exchange; return a summary, or raise AssertionError with the reason."""
    async with connect(
        args.url,
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
    return f"{len(batch)} messages ({sent} units) echoed identically; extensions: {negotiated or 'none'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    add_deflate_args(parser)
    parser.add_argument("--expect-agreed", metavar="EXTENSION")
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
